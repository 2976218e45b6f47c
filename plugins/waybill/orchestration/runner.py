"""Run the project's DAGs through Airflow in this process (``dag.test()``), for the demo and the tests.

Call :func:`waybill.runtime.apply` before importing this module's functions' Airflow internals:
Airflow reads its configuration at import time.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waybill import runtime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
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


FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


@contextlib.contextmanager
def group_progress(
    dag_id: str,
    group_of: Callable[[str], str | None],
    emit: Callable[[str, dict[str, int], float], None],
    *,
    poll_s: float = 1.0,
) -> Iterator[None]:
    """Report each task group of the next run of ``dag_id`` as it finishes, while the block runs.

    ``group_of(task_id)`` names a task's group (None: not reported). Once every task instance of
    a group has finished, ``emit(group, {state: count}, seconds)`` is called once (``seconds``:
    how far into the run its last task finished; groups interleave), from a
    background thread that polls Airflow's metadata DB; groups still open when the block ends are
    reported then. Works for any executor: it only reads task instance states.
    """
    after = _newest_run_id(dag_id)
    reported: set[str] = set()
    stop = threading.Event()

    def poll() -> None:
        for group, states, seconds in _finished_groups(dag_id, after, group_of, reported):
            reported.add(group)
            emit(group, states, seconds)

    def loop() -> None:
        while not stop.wait(poll_s):
            with contextlib.suppress(Exception):  # a poll that fails is retried on the next tick
                poll()

    thread = threading.Thread(target=loop, name=f"progress-{dag_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        with contextlib.suppress(Exception):
            poll()


def _newest_run_id(dag_id: str) -> int:
    """The highest DagRun id of ``dag_id`` so far (0 when it never ran)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.max(DagRun.id)).where(DagRun.dag_id == dag_id)) or 0


def _finished_groups(
    dag_id: str, after: int, group_of: Callable[[str], str | None], reported: set[str]
) -> list[tuple[str, dict[str, int], float]]:
    """The groups of the newest run of ``dag_id`` (DagRun id above ``after``) whose task
    instances have all finished and that are not in ``reported``, in the order they finished."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.id > after)
            .order_by(DagRun.id.desc())
            .limit(1)
        ).first()
        if run is None:
            return []
        run_id, run_start = run.run_id, run.start_date
        rows = session.execute(
            select(
                TaskInstance.task_id,
                TaskInstance.state,
                TaskInstance.start_date,
                TaskInstance.end_date,
            ).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
    groups: dict[str, list[Any]] = {}
    for row in rows:
        group = group_of(row.task_id)
        if group is not None and group not in reported:
            groups.setdefault(group, []).append(row)
    done = []
    for group, members in groups.items():
        if not all(_state(m) in FINISHED for m in members):
            continue
        states: dict[str, int] = {}
        for m in members:
            states[_state(m)] = states.get(_state(m), 0) + 1
        ends = [m.end_date for m in members if m.end_date]
        seconds = (max(ends) - run_start).total_seconds() if ends and run_start else 0.0
        done.append((max(ends).timestamp() if ends else 0.0, group, states, seconds))
    done.sort(key=lambda item: item[0])
    return [(group, states, seconds) for _, group, states, seconds in done]


def _state(row: Any) -> str:
    """A task instance state as its plain value (``success``), whatever enum the ORM returns."""
    return str(getattr(row.state, "value", row.state))
