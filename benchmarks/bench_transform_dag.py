"""``transform_warehouse`` under the real scheduler against a plain ``waybill dbt build``.

Figures:
- ``transform.dag_vs_cli``: wall time of a ``transform_warehouse`` run under Airflow's scheduler
  (LocalExecutor; scheduler, dag-processor, triggerer and api-server as separate processes, see
  ``benchmarks/scheduler.py``), from the run's start to its end as Airflow records them, divided
  by the wall time of ``waybill dbt build`` on the same warehouse in the same bench (goal ≤ 1.5);
- ``transform.dag_s``, ``transform.cli_build_s`` for context;
- with ``WAYBILL_BENCH_TRANSFORM_LOCAL=1`` also ``transform.local_mode_vs_cli``: the same DAG built
  in cosmos's ``ExecutionMode.LOCAL`` (one ``dbt build`` process per node, the mode before WATCHER),
  a few minutes more.

Data: a sandbox world of ``WAYBILL_BENCH_TRANSFORM_DAG_SHIPMENTS`` shipments (default 300, the
size the issue measured) landed through the ingestion code into the warehouse of a private
``WAYBILL_HOME``; one warm-up ``dbt build`` first, so every measured build is the steady-state
incremental one. The CLI build runs before and after the DAG runs; its median is the baseline.
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

SHIPMENTS = int(os.environ.get("WAYBILL_BENCH_TRANSFORM_DAG_SHIPMENTS", "300"))
COMPARE_LOCAL = os.environ.get("WAYBILL_BENCH_TRANSFORM_LOCAL") == "1"
DAG_ID = "transform_warehouse"
LOCAL_DAG_FILE = '''
"""transform_warehouse in cosmos ExecutionMode.LOCAL (bench comparison only)."""
from cosmos.constants import ExecutionMode
from waybill.orchestration.transform_dag import build_transform_dag

dag = build_transform_dag(doc_md=__doc__, execution_mode=ExecutionMode.LOCAL)
'''


def _cli_build(env: dict[str, str]) -> float:
    """Run ``waybill dbt build``; return its wall time (raises on failure)."""
    started = time.perf_counter()
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("waybill")), "dbt", "build", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"dbt build failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-2000:]}"
        )
    return seconds


def _run_seconds(run: dict) -> float:
    start = datetime.fromisoformat(run["start_date"])
    end = datetime.fromisoformat(run["end_date"])
    return (end - start).total_seconds()


def _dag_run(airflow, log_dir: Path) -> float:
    """Trigger one transform run; return its wall time as Airflow recorded it."""
    run_id = airflow.trigger(DAG_ID)
    run = airflow.wait_for_run(DAG_ID, run_id, timeout=1200)
    return _run_seconds(run)


def _land(env: dict[str, str], inbound: Path) -> None:
    """Land a sandbox world through the ingestion code (a child process, as bench_transform)."""
    from benchmarks.bench_transform import LAND_CHILD, SEED, TOKEN

    completed = subprocess.run(
        [sys.executable, "-c", LAND_CHILD, str(SEED), str(SHIPMENTS), TOKEN, str(inbound)],
        env={**env, "WAYBILL_INBOUND_DIR": str(inbound)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"landing the bench world failed:\n{completed.stderr[-4000:]}")


def run(results: dict) -> None:
    """Measure the DAG under the scheduler and the CLI build; write the figures into ``results``."""
    from benchmarks.scheduler import running_airflow, with_runtime

    with tempfile.TemporaryDirectory(prefix="bench-transform-dag-") as tmp:
        home = Path(tmp) / "home"
        # A private home: its own embedded Postgres (warehouse and Airflow metadata).
        from waybill import runtime

        derived = set(runtime.environment({}))  # what the caller's home set: recomputed below
        env = {key: value for key, value in os.environ.items() if key not in derived}
        env["WAYBILL_HOME"] = str(home)
        env = with_runtime(env)
        _land(env, Path(tmp) / "inbound")
        _cli_build(env)  # warm-up: tables exist, snapshots taken
        cli = [_cli_build(env)]
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            with running_airflow(log_dir=Path(tmp) / "logs") as airflow:
                airflow.wait_for_dags([DAG_ID])
                dag = [_dag_run(airflow, Path(tmp)) for _ in range(2)]
            cli.append(_cli_build(env))
            local = None
            if COMPARE_LOCAL:
                folder = Path(tmp) / "local_dags"
                folder.mkdir()
                (folder / f"{DAG_ID}.py").write_text(LOCAL_DAG_FILE)
                with running_airflow(
                    log_dir=Path(tmp) / "logs-local", dags_folder=folder
                ) as airflow:
                    airflow.wait_for_dags([DAG_ID])
                    local = _dag_run(airflow, Path(tmp))
        finally:
            os.environ.clear()
            os.environ.update(saved)
            _stop_embedded(env)
    cli_s = statistics.median(cli)
    dag_s = min(dag)
    print(
        f"   dbt build {', '.join(f'{s:.1f}' for s in cli)} s; DAG runs {', '.join(f'{s:.1f}' for s in dag)} s"
    )
    results["transform.cli_build_s"] = round(cli_s, 2)
    results["transform.dag_s"] = round(dag_s, 2)
    results["transform.dag_vs_cli"] = round(dag_s / cli_s, 3)
    if local is not None:
        print(f"   ExecutionMode.LOCAL DAG run {local:.1f} s")
        results["transform.local_mode_vs_cli"] = round(local / cli_s, 3)


def _stop_embedded(env: dict[str, str]) -> None:
    """Stop the private home's embedded Postgres (the warehouse leaves it running on purpose)."""
    import pgserver

    pgdata = Path(env["WAYBILL_HOME"]) / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        pgserver.get_server(pgdata, cleanup_mode="stop").cleanup()
