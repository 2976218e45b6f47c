"""A carrier's webhook push starts the chain at once under Airflow's real scheduler, not the cron.

Airflow's scheduler, dag-processor, triggerer and api-server run as separate processes
(LocalExecutor, ``benchmarks/scheduler.py``) on this test's embedded Postgres. The ERP, WMS and
TMS systems are landed first through the ingestion code (what the ingestion DAGs run), so billing
has its master data; then the sandbox pushes signed ParcelCo and SwiftEx events to a running
webhook receiver. The receiver's stores must wake ``ingest_carriers`` through its pushed Asset
(an asset-triggered run, not a scheduled one, well before the next quarter hour), whose raw
Assets trigger ``transform_warehouse`` (cosmos WATCHER mode), whose marts Asset triggers
``post_billing``, which must post invoices to the ERP. No ``dag.test()`` anywhere.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.test_carrier_channels import PUSHED, receiver  # noqa: F401 - the fixture
from tests.e2e.test_walking_skeleton import TOKEN, _erp_invoices, _sandbox

# NOT YET GREEN (issue 13 item 3, left for the next stop): on unpause the DAG's cron fires its
# latest interval at once (a scheduled ingest_carriers run), which holds the push's asset-triggered
# run behind max_active_runs=1, so the first run seen is the scheduled one. Wait that chain out
# (or unpause ingest_carriers only after it) before pushing, then assert on the asset-triggered run.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skip(reason="unfinished: the cron's run on unpause must be waited out first"),
]

CHAIN = ("ingest_carriers", "transform_warehouse", "post_billing")
PULLED_FIRST = ("erp", "wms", "tms")


@pytest.fixture
def world(monkeypatch, tmp_path):
    server, base_url, _truth = _sandbox(monkeypatch, tmp_path, seed=7, shipments=60, faults=0.0)
    try:
        yield base_url, tmp_path
    finally:
        server.__exit__(None, None, None)


def _land_systems(systems: tuple[str, ...]) -> None:
    from waybill.ingest import ingest_entity
    from waybill.sources import load_sources

    for source in load_sources().values():
        if source.system in systems:
            for entity in source.entities:
                ingest_entity(source.name, entity, run_id="test_event_driven")


def _wait_for_run(airflow, dag_id: str, timeout: float) -> dict:
    """The first run of ``dag_id`` once it ended (raises if it failed or none ended in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = airflow.runs(dag_id)
        if runs and runs[0]["state"] in ("success", "failed"):
            assert runs[0]["state"] == "success", (dag_id, airflow.failed(runs[0]))
            return runs[0]
        time.sleep(2)
    raise AssertionError(f"no run of {dag_id} ended within {timeout}s: {airflow.runs(dag_id)}")


def test_a_webhook_push_runs_ingest_transform_and_billing_without_the_cron(
    world,
    receiver,  # noqa: F811 - the fixture imported above
    tmp_path,
) -> None:
    from benchmarks.scheduler import running_airflow

    base_url, _ = world
    _land_systems(PULLED_FIRST)
    with running_airflow(log_dir=tmp_path / "airflow-logs") as airflow:
        airflow.wait_for_dags(list(CHAIN))
        time.sleep(5)  # the triggerer picks up the Asset's watcher
        pushed_at = time.time()
        for carrier, limit in PUSHED.items():
            answer = requests.post(
                f"{base_url}/carriers/{carrier}/webhooks/deliveries",
                json={"url": f"{receiver}/webhooks/{carrier}", "limit": limit},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=120,
            ).json()
            assert answer["delivered"] == limit, answer
        runs = {dag_id: _wait_for_run(airflow, dag_id, timeout=600) for dag_id in CHAIN}
        invoices = _erp_invoices(base_url)

    ingest = runs["ingest_carriers"]
    assert ingest["run_type"] == "asset_triggered", ingest
    assert runs["transform_warehouse"]["run_type"] == "asset_triggered"
    assert runs["post_billing"]["run_type"] == "asset_triggered"
    from datetime import datetime

    queued = datetime.fromisoformat(ingest["queued_at"]).timestamp()
    assert queued - pushed_at < 60, "the push did not start ingest_carriers within a minute"
    assert invoices, "the ERP received no invoice"
