"""``make demo`` stays quiet: progress lines and the summary on the terminal, every Airflow and dbt
log line in ``airflow.log``.

The cheap half runs the demo's own output layer (``output_to`` + ``_run_reported``) on a tiny
sandbox world in a child process, as ``waybill demo`` does; the other half counts what the demo
prints for a default-size run (its progress lines and its streamed summary) against the budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

from waybill import demo

if TYPE_CHECKING:
    from pathlib import Path

# `make demo` on a fresh clone must print fewer lines than this, set-up included.
LINE_BUDGET = 100
# What `make setup` and `make demo` echo besides the demo itself on a fresh clone: make's command
# lines (pip ×3, pip check, dbt parse, waybill demo) and pip check's verdict.
MAKE_LINES = 8

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from waybill import demo, runtime

    log = Path(sys.argv[1])
    ledger = log.with_name("erp_ledger.jsonl")
    with demo.output_to(log) as terminal:
        runtime.apply()
        from waybill.orchestration.runner import ensure_airflow_db

        ensure_airflow_db()
        with demo.sandbox(7, 20, 0.0, "quiet-demo-token", days=0, ledger=ledger) as (url, clock):
            demo._point_connections_at(url, "quiet-demo-token")
            print("a stray print inside the block goes to the log")
            record, failed = demo._run_reported("ingest_erp", 0, clock, terminal)
    print("finished", record["dag_id"], record["state"], failed)
    """
)


def test_dag_runs_print_one_line_each_and_their_logs_go_to_airflow_log(airflow_db, tmp_path: Path):
    log = tmp_path / "airflow.log"
    env = {**os.environ, "WAYBILL_INBOUND_DIR": str(tmp_path / "inbound")}
    for name in [n for n in env if n.startswith("AIRFLOW_CONN_")]:
        del env[name]  # the child points the connections at its own sandbox
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(log)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert len(lines) == 2, completed.stdout
    assert lines[0].split()[:4] == ["day", "0", "ingest_erp", "success"], lines
    assert lines[1] == "finished ingest_erp success None"
    assert completed.stderr == ""
    logged = log.read_text()
    assert "a stray print inside the block goes to the log" in logged
    # Airflow's own lines of the run (dag.test() logs each task instance it runs).
    assert "ingest_erp" in logged
    assert "ingest" in logged and len(logged.splitlines()) > 20, logged[-2000:]


def test_every_transform_task_maps_to_a_dbt_layer():
    from waybill.orchestration.runner import dag_bag

    task_ids = dag_bag().dags["transform_warehouse"].task_ids
    groups = {task_id: demo.dbt_task_group(task_id) for task_id in task_ids}
    assert groups["dbt.dbt_producer_watcher"] is None  # the one `dbt build` of WATCHER mode
    dbt_groups = {g for t, g in groups.items() if t.startswith("dbt.")}
    assert {"staging", "intermediate", "marts"} <= dbt_groups
    assert "other" not in dbt_groups, sorted(t for t, g in groups.items() if g == "other")


def test_a_default_demo_prints_under_the_line_budget():
    """Everything ``make demo`` prints at the default size (2 days), from the progress lines and
    the streamed summary of a run as large as the default's, plus make's and pip's lines."""
    from waybill.sources import systems

    days = 2
    dag_ids = [f"ingest_{name}" for name in systems()]
    dag_ids += ["transform_warehouse", "post_billing", "sync_crm"]
    layers = set(demo._dbt_layers().values())
    progress = (days + 1) * (len(dag_ids) + len(layers)) + 2  # + reconcile, pipeline_health
    summary = _default_size_summary(days)
    printed = demo.render_summary(summary, streamed=True).splitlines()
    header_and_footer = 1 + 2  # the opening line; reports and dbt docs paths
    total = MAKE_LINES + header_and_footer + progress + len(printed)
    assert total < LINE_BUDGET, (total, progress, printed)
    # The full listing still reaches summary.md.
    full = demo.render_summary(summary).splitlines()
    assert len(full) > len(printed)
    assert any("raw.erp__orders: 1946" in line for line in full)


def _default_size_summary(days: int) -> dict:
    """A summary shaped like a default demo's: every raw table of sources.yaml, every model."""
    from waybill.sources import load_sources, raw_table_name

    raw = {
        raw_table_name(source.name, entity): 1946 if entity == "orders" else 100
        for source in load_sources().values()
        for entity in source.entities
    }
    models = [
        f"{layer}.{name}"
        for name, layer in demo._dbt_layers().items()
        if layer in ("staging", "intermediate", "marts")
    ]
    runs = [
        {"day": day, "dag_id": "ingest_erp", "state": "success", "seconds": 1.0}
        for day in range(days + 1)
    ]
    summary = {
        "seed": 42,
        "shipments": 2000,
        "days": days,
        "faults": 0,
        "dag_runs": runs,
        "raw": raw,
        "dead_letters": 585,
        "models": models,
        "checks": {"suite": "billing_ready", "successful": 22, "evaluated": 26},
        "billing": {
            "posted": 1516,
            "pending": 0,
            "failed": 0,
            "awaiting_approval": 0,
            "erp_documents": 1516,
            "erp_documents_by_kind": {"invoice": 1509, "credit_note": 7},
            "erp_duplicate_postings": 0,
            "posted_by_purpose": {"first": 1504, "replacement": 5},
            "business_holds": {"missing_pod": 100, "credit_hold": 25},
            "reconciliation": {"unbilled_change": 2},
        },
        "ledger_vs_truth": {"checked": 2000, "mismatched": 0},
    }
    json.dumps(summary)  # JSON-able, like the real one
    return summary
