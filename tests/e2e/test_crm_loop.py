"""Customer service in the loop, through Airflow: the pipeline builds the marts, ``sync_crm``
tells the sandbox CRM each shipment's status and opens one case per exception, agents resolve
cases as the sandbox clock moves, ``ingest_crm`` brings the resolutions back and the transform
builds the exception-to-resolution mart and its KPIs.

The CRM's own ledger must hold exactly the cases the sandbox truth expects — none missing, none
duplicated — and each shipment's CRM status must equal the marts'. Rerunning sends nothing; a
crash after the CRM accepted part of the sync, rerun, duplicates nothing.
"""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
import requests

from waybill import warehouse
from waybill.crm import sync
from waybill.crm.client import sandbox_crm_connection
from waybill.crm.mapping import load_mapping
from waybill.demo import sandbox_connections
from waybill.orchestration.runner import DagRunFailed, run_dag

pytestmark = pytest.mark.e2e

TOKEN = "crm-loop-test-token"
SEED, SHIPMENTS = 13, 150
TICK_HOURS = 72
PIPELINE = (
    "ingest_erp",
    "ingest_wms",
    "ingest_tms",
    "ingest_carriers",
    "transform_warehouse",
)


@pytest.fixture
def crm_world(monkeypatch, tmp_path, airflow_db, clean_warehouse):
    """A sandbox whose clock starts TICK_HOURS before the horizon, with a CRM ledger; yields
    (base_url, truth for syncs at both ticks, ledger path)."""
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    world = World(SEED, SHIPMENTS)
    start = world.as_of - TICK_HOURS * 3600
    buffer = io.StringIO()
    write_truth(world, buffer, clock=start, tick_hours=TICK_HOURS)
    truth = json.loads(buffer.getvalue())
    ledger = tmp_path / "crm_ledger.jsonl"
    inbound = tmp_path / "inbound"  # files arrive by the carrier's listing, as the clock allows
    inbound.mkdir()
    with running_sandbox(
        seed=SEED, shipments=SHIPMENTS, erp_token=TOKEN, clock=start, crm_ledger=ledger
    ) as base_url:
        for name, value in sandbox_connections(base_url, TOKEN).items():
            monkeypatch.setenv(name, value)
        connection = json.loads(sandbox_crm_connection(base_url)["AIRFLOW_CONN_CRM_API"])
        connection["extra"]["batch_size"] = 25  # several batches, so a crash can fall between
        monkeypatch.setenv("AIRFLOW_CONN_CRM_API", json.dumps(connection))
        monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
        yield base_url, truth, ledger


def _ledger(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mart_statuses() -> dict[str, str]:
    """Each shipment's status in the mart, as the CRM names it."""
    mapping = load_mapping()
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select order_number, customer_visible_status from marts.fct_customer_shipment_status"
        ).fetchall()
    return {order: mapping.statuses[status]["status"] for order, status in rows}


def _last_sent() -> int:
    with warehouse.connect() as conn:
        row = conn.execute(
            "select sent from ops.crm_sync_runs order by started_at desc limit 1"
        ).fetchone()
    assert row is not None
    return row[0]


def test_crm_holds_exactly_the_expected_cases_and_the_marts_statuses(crm_world, monkeypatch):
    base_url, truth, ledger = crm_world
    mapping = load_mapping()
    for dag_id in PIPELINE:
        run_dag(dag_id, retries=False)

    # Day 1: a crash after the CRM accepted the second batch, before Waybill recorded it.
    real = sync.record_batch
    calls = Counter()

    def crash_on_second_batch(*args, **kwargs):
        calls["batches"] += 1
        if calls["batches"] == 2:
            raise RuntimeError("worker killed after the CRM accepted a batch")
        return real(*args, **kwargs)

    monkeypatch.setattr(sync, "record_batch", crash_on_second_batch)
    with pytest.raises(DagRunFailed, match="sync_crm"):
        run_dag("sync_crm", retries=False)
    assert len(_ledger(ledger)) == 50  # two batches reached the CRM
    monkeypatch.setattr(sync, "record_batch", real)
    run_dag("sync_crm", retries=False)
    day_one = _ledger(ledger)
    created = Counter(
        (x["object"], x["external_id"]) for x in day_one if x["operation"] == "created"
    )
    assert max(created.values()) == 1, "a record was created twice"
    assert all(x["operation"] == "created" for x in day_one), "the resent batch changed something"
    run_dag("sync_crm", retries=False)
    assert _last_sent() == 0
    assert len(_ledger(ledger)) == len(day_one)

    # Day 2 (the horizon): the world moved on; only what changed is sent.
    requests.post(
        f"{base_url}/admin/clock",
        json={"advance_hours": TICK_HOURS},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ).raise_for_status()
    for dag_id in PIPELINE:
        run_dag(dag_id, retries=False)
    run_dag("sync_crm", retries=False)
    lines = _ledger(ledger)
    created = Counter((x["object"], x["external_id"]) for x in lines if x["operation"] == "created")
    assert max(created.values()) == 1, "a record was created twice"
    expected_cases = {c["external_id"] for s in truth["shipments"] for c in s["crm_cases"]}
    assert expected_cases, "the world has exceptions that deserve cases"
    cases = {external_id for (obj, external_id) in created if obj == mapping.case_object}
    assert sorted(cases - expected_cases) == [], "cases the truth does not expect"
    assert sorted(expected_cases - cases) == [], "cases the truth expects are missing"

    crm_status: dict[str, str] = {}
    for x in lines:
        if x["object"] == mapping.status_object:
            crm_status[x["external_id"]] = x["fields"]["status"]
    assert crm_status == _mart_statuses()
    truth_status = {
        s["order_number"]: mapping.statuses[s["customer_status"]]["status"]
        for s in truth["shipments"]
    }
    assert crm_status == truth_status

    run_dag("sync_crm", retries=False)
    assert _last_sent() == 0
    assert len(_ledger(ledger)) == len(lines)

    # The agents' resolutions come back: day-one cases are resolved by now (4..72 h).
    run_dag("ingest_crm", retries=False)
    run_dag("transform_warehouse", retries=False)
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select case_id, is_resolved, resolution_code, resolved_by, time_to_case_hours"
            " from marts.fct_exception_resolutions"
        ).fetchall()
        kpis = dict(
            conn.execute("select exception, cases from marts.kpi_crm_exceptions").fetchall()
        )
    assert {row[0] for row in rows} == expected_cases
    day_one_cases = {x["external_id"] for x in day_one if x["object"] == mapping.case_object}
    resolved = {row[0] for row in rows if row[1]}
    assert day_one_cases <= resolved
    assert all(row[2] and row[3] for row in rows if row[1])
    assert all(row[4] is not None and row[4] >= 0 for row in rows)
    assert kpis["all"] == len(expected_cases)
