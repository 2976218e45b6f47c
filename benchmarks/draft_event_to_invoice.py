"""Event to invoice under the real scheduler: a carrier's webhook push until the ERP has the invoice.

Figure ``pipeline.event_to_invoice_s``: the median, over every shipment invoiced because of the push
(at least 5), of the seconds from the push (the sandbox's signed deliveries to a running
``waybill webhooks serve`` app) to the ERP's first receipt of the shipment's invoice
(``first_posted_at``), goal ≤ 120 s. Beside it ``pipeline.event_to_invoice_max_s`` and
``pipeline.invoiced_shipments``.

Set-up (not timed): Airflow's scheduler, dag-processor, triggerer and api-server (LocalExecutor,
``benchmarks/scheduler.py``) on a private ``WAYBILL_HOME``; a sandbox world of
``WAYBILL_BENCH_EVENT_SHIPMENTS`` shipments (default 60); the ERP, WMS and TMS landed through the
ingestion code, so only the carriers' data (the pushes, and what the woken ``ingest_carriers``
run pulls with them: feeds, Track API PODs, X12) is missing; ``ingest_carriers``,
``transform_warehouse`` and ``post_billing`` unpaused, nothing else. Timed: the push; the
receiver's store wakes ``ingest_carriers`` (AssetWatcher), whose raw Assets trigger the
transform, whose marts Asset triggers billing. No cron fires in between (the chain would take
the quarter hour otherwise).

NOT YET RUN to a figure: as in ``tests/e2e/test_event_driven.py`` (skipped), the cron's own run on
unpause must be waited out before the push (it holds the push's run behind max_active_runs=1);
until then it is a draft, not named bench_*.py, so `make bench` does not run it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

SHIPMENTS = int(os.environ.get("WAYBILL_BENCH_EVENT_SHIPMENTS", "60"))
SEED = 7
TOKEN = "bench-event-token"
PUSHED = {"parcelco": 100, "swiftex": 100}
CHAIN = ("ingest_carriers", "transform_warehouse", "post_billing")
PULLED_FIRST = ("erp", "wms", "tms")

SERVE_CHILD = """
import sys, time
from waybill.webhooks.limits import Limits
from waybill.webhooks.receiver import create_app
from waybill.webhooks.server import build_server
app = create_app(lambda carrier: f"sandbox-webhook-secret-{carrier}")
build_server(app, "127.0.0.1", int(sys.argv[1]), Limits(), "warning").run()
"""

LAND_CHILD = """
import sys
from waybill.ingest import ingest_entity
from waybill.sources import load_sources
systems = sys.argv[1].split(",")
for source in load_sources().values():
    if source.system in systems:
        for entity in source.entities:
            ingest_entity(source.name, entity, run_id="bench_event_to_invoice")
"""


def run(results: dict) -> None:
    """Push, wait for the chain, read the ERP; write the figures into ``results``."""
    import requests

    from benchmarks.bench_transform_dag import _stop_embedded
    from benchmarks.scheduler import _free_port, running_airflow, with_runtime
    from waybill import runtime
    from waybill.demo import sandbox_connections
    from waybill_sandbox.server import running_sandbox

    with tempfile.TemporaryDirectory(prefix="bench-event-") as tmp:
        derived = set(runtime.environment({}))
        env = {key: value for key, value in os.environ.items() if key not in derived}
        env["WAYBILL_HOME"] = str(Path(tmp) / "home")
        env["WAYBILL_INBOUND_DIR"] = str(Path(tmp) / "inbound")
        env = with_runtime(env)
        sandbox = running_sandbox(
            seed=SEED, shipments=SHIPMENTS, erp_token=TOKEN, inbound=Path(tmp) / "inbound"
        )
        base_url = sandbox.__enter__()
        receiver = None
        try:
            env.update(sandbox_connections(base_url, TOKEN))
            _child(env, LAND_CHILD, ",".join(PULLED_FIRST))
            port = _free_port()
            receiver = subprocess.Popen(
                [sys.executable, "-c", SERVE_CHILD, str(port)], env=env, start_new_session=True
            )
            with running_airflow(env, log_dir=Path(tmp) / "logs") as airflow:
                airflow.wait_for_dags(list(CHAIN))
                time.sleep(10)  # the triggerer starts the Asset's watcher
                pushed_at = time.time()
                for carrier, limit in PUSHED.items():
                    requests.post(
                        f"{base_url}/carriers/{carrier}/webhooks/deliveries",
                        json={"url": f"http://127.0.0.1:{port}/webhooks/{carrier}", "limit": limit},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=120,
                    ).raise_for_status()
                _wait_for_billing(airflow, timeout=900)
                answer = requests.get(
                    f"{base_url}/erp/invoices",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=60,
                ).json()
                runs = {dag_id: airflow.runs(dag_id) for dag_id in CHAIN}
        finally:
            if receiver is not None:
                receiver.terminate()
                receiver.wait(30)
            sandbox.__exit__(None, None, None)
            _stop_embedded(env)
    invoices = answer["data"] if isinstance(answer, dict) else answer
    latencies = [
        datetime.fromisoformat(invoice["first_posted_at"]).timestamp() - pushed_at
        for invoice in invoices
        for _ in invoice["shipment_ids"]
    ]
    for dag_id, dag_runs in runs.items():
        print(f"   {dag_id}: " + ", ".join(f"{r['run_type']} {r['state']}" for r in dag_runs))
    if len(latencies) < 5:
        raise RuntimeError(f"only {len(latencies)} shipments invoiced after the push")
    median = statistics.median(latencies)
    print(f"   {len(latencies)} shipments invoiced; push → invoice median {median:.0f} s")
    results["pipeline.event_to_invoice_s"] = round(median, 1)
    results["pipeline.event_to_invoice_max_s"] = round(max(latencies), 1)
    results["pipeline.invoiced_shipments"] = len(latencies)


def _child(env: dict[str, str], code: str, *args: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench set-up failed:\n{completed.stderr[-4000:]}")


def _wait_for_billing(airflow, timeout: float) -> None:
    """Wait for the first ``post_billing`` run to end (raises if it or a run before it failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for dag_id in CHAIN:
            for run in airflow.runs(dag_id):
                if run["state"] == "failed":
                    raise RuntimeError(f"{dag_id} failed: {airflow.failed(run)}")
        billing = airflow.runs("post_billing")
        if billing and billing[0]["state"] == "success":
            return
        time.sleep(2)
    raise TimeoutError(f"post_billing did not run within {timeout}s of the push")
