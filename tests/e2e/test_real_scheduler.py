"""The pipeline under Airflow's real scheduler, as it runs in production: no ``dag.test()``.

Scheduler, dag-processor, api-server and triggerer run as separate processes
(:class:`waybill.airflow_stack.AirflowStack`) on the embedded Postgres, first with the
LocalExecutor, then with the CeleryExecutor (a private redis-server and two workers, each in its
own working directory and with its own ``build/``). The sandbox (``waybill sandbox serve``)
serves the partner systems. The test unpauses the chain through the REST API (an ingestion DAG
whose interval already ran in this metadata DB is triggered instead) and lets Assets run
``transform_warehouse`` and ``post_billing``; the ERP's own ledger
must then net, shipment by shipment, to ``waybill sandbox truth`` for the same seed. The gate's
summary and Data Docs and the finance report must be in the shared artifacts store
(``WAYBILL_ARTIFACTS_URL``), where the report task, on whichever worker, found the gate's results.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time

import pytest

from waybill.airflow_stack import AirflowStack
from waybill.billing.paths import run_folder_name
from waybill.demo import ledger_vs_truth, sandbox, sandbox_connections
from waybill.quality.outcomes import DATA_DOCS_SITE, SUMMARY_FILE

pytestmark = pytest.mark.e2e

SEED = 13
SHIPMENTS = 120
INGEST_DAGS = ("ingest_erp", "ingest_wms", "ingest_tms", "ingest_carriers")
CHAIN = (*INGEST_DAGS, "transform_warehouse", "post_billing")
# A fresh metadata DB per stack: no run, pause or queued Asset event of another test leaks in.
METADATA_DB = "airflow_real_scheduler_{executor}"


# Not yet in `make test`: with one cosmos task per dbt node, each starting its own process,
# transform_warehouse under the real scheduler takes far longer than CI's budget on two cores
# (issue 13 item 2 moves it to dbt speed); and this test has not yet been seen green (on a
# machine shared by six engineers its runs did not finish before the branch's deadline).
# Run it with WAYBILL_SLOW_TESTS=1.
@pytest.mark.slow
@pytest.mark.parametrize("executor", ["LocalExecutor", "CeleryExecutor"])
def test_real_scheduler_chains_assets_and_the_erp_nets_to_the_truth(
    executor, clean_warehouse, airflow_db, tmp_path, monkeypatch
):
    if executor == "CeleryExecutor" and shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (apt-get install redis-server; .ci/run does)")
    started = time.monotonic()
    token = secrets.token_urlsafe(16)
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(tmp_path / "inbound"))
    ledger = tmp_path / "erp_ledger.jsonl"
    with sandbox(SEED, SHIPMENTS, 0.0, token, days=0, ledger=ledger, log_dir=tmp_path) as (
        base_url,
        clock,
    ):
        env = {
            **sandbox_connections(base_url, token),
            "WAYBILL_INBOUND_DIR": str(tmp_path / "inbound"),
            "WAYBILL_ARTIFACTS_URL": artifacts.as_uri(),
        }
        with AirflowStack(
            tmp_path / "airflow",
            executor=executor,
            env=env,
            metadata_database=METADATA_DB.format(executor=executor.lower()),
        ) as stack:
            stack.wait_for_dags(CHAIN)
            assert stack.import_errors() == []
            # Consumers first: a paused DAG is not queued by the Asset events it misses.
            for dag_id in ("transform_warehouse", "post_billing"):
                stack.unpause(dag_id)
            ingest_runs = {dag_id: stack.unpause_and_run(dag_id) for dag_id in INGEST_DAGS}
            ended = {}
            for dag_id, run_id in ingest_runs.items():
                run = stack.wait_for_run(dag_id, run_id)
                assert run["state"] == "success", (dag_id, stack.task_states(dag_id, run_id))
                ended[run["end_date"]] = (dag_id, run_id)
            # The transform the last ingestion's Assets triggered, then the billing it triggered.
            transform = stack.wait_for_run_caused_by("transform_warehouse", *ended[max(ended)])
            assert transform["state"] == "success", stack.task_states(
                "transform_warehouse", transform["dag_run_id"]
            )
            billing = stack.wait_for_run_caused_by(
                "post_billing", "transform_warehouse", transform["dag_run_id"]
            )
            billing_tasks = stack.task_states("post_billing", billing["dag_run_id"])
            assert billing["state"] == "success", billing_tasks
            hosts = _task_hosts(stack, "transform_warehouse", transform["dag_run_id"])
    seconds = round(time.monotonic() - started)

    check = ledger_vs_truth(ledger, seed=SEED, shipments=SHIPMENTS, faults=0.0, clock=clock)
    assert check["checked"] == SHIPMENTS
    assert check["mismatched"] == 0, check["examples"]
    assert check["documents_by_kind"].get("invoice", 0) > 0

    # What one task left for another is in the shared store, not in a worker's folder.
    folder = artifacts / "billing" / run_folder_name(billing["dag_run_id"])
    gate = json.loads((folder / SUMMARY_FILE).read_text())
    assert gate and all(outcome["data_docs"] for outcome in gate)
    assert (folder / DATA_DOCS_SITE / "index.html").exists()
    page = (folder / "index.html").read_text()
    assert page.count('data-rule="') >= len(gate)
    assert (artifacts / "billing" / "latest").resolve() == folder.resolve()
    if executor == "CeleryExecutor":
        workers = [tmp_path / "airflow" / f"worker-{n}" for n in (1, 2)]
        assert not any((w / "build").exists() for w in workers), "a task wrote to a worker's build/"
        assert len(hosts) == 2, f"the dbt tasks ran on {hosts}, not on both workers"
    print(f"{executor}: real-scheduler pipeline of {SHIPMENTS} shipments in {seconds} s")


def _task_hosts(stack: AirflowStack, dag_id: str, run_id: str) -> set[str]:
    """The Celery workers (or the one local host) that ran the run's task instances."""
    body = stack.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
    return {ti["hostname"] for ti in body["task_instances"] if ti.get("hostname")}
