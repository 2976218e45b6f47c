"""Run the project's DAGs through Airflow in this process (``dag.test()``), for the demo and the tests.

Call :func:`waybill.runtime.apply` before importing this module's functions' Airflow internals:
Airflow reads its configuration at import time.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waybill import runtime

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.models.dagrun import DagRun


class DagRunFailed(RuntimeError):
    """A DAG run ended in a state other than success; the message names the DAG and failed tasks."""


def ensure_airflow_db() -> None:
    """Create or upgrade Airflow's metadata DB (idempotent, a few seconds when already current)."""
    airflow = Path(sys.executable).with_name("airflow")
    env = {**os.environ, **runtime.environment()}
    completed = subprocess.run(
        [str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{completed.stdout}\n{completed.stderr}")


@functools.cache
def dag_bag():
    """Parse ``dags/`` once per process; raise if any file fails to import."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(runtime.DAGS_FOLDER))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag


def run_dag(
    dag_id: str,
    *,
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    check: bool = True,
    retries: bool = True,
) -> DagRun:
    """Run ``dag_id`` once with ``dag.test()`` and return its DagRun.

    With ``check`` (default) raises :class:`DagRunFailed` naming the failed tasks when the run fails.
    ``retries=False`` runs every task once (tests that expect a failure need not wait out the
    retry delays).
    """
    from waybill.orchestration import dbt_watch

    dag = dag_bag().dags.get(dag_id)
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {runtime.DAGS_FOLDER}")
    kwargs: dict[str, Any] = {"run_conf": conf}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    # The DAG object is cached for the process: restore its retries, so a later run keeps them.
    configured = {task.task_id: task.retries for task in dag.tasks}
    try:
        if not retries:
            for task in dag.tasks:
                task.retries = 0
        with dbt_watch.in_order(dag):
            dag_run = dag.test(**kwargs)
    finally:
        for task in dag.tasks:
            task.retries = configured[task.task_id]
    if check and dag_run.state != "success":
        raise DagRunFailed(f"{dag_id} ended {dag_run.state}: failed tasks {failed_tasks(dag_run)}")
    return dag_run


def failed_tasks(dag_run: DagRun) -> list[str]:
    """Return ``task_id[map_index]`` of every task instance of ``dag_run`` that did not succeed."""
    from airflow.utils.session import create_session

    with create_session() as session:
        instances = dag_run.get_task_instances(session=session)
        return [
            f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id
            for ti in instances
            if ti.state not in ("success", "skipped")
        ]
