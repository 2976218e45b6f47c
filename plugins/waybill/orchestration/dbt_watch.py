"""Resolve cosmos WATCHER consumer tasks in the triggerer, never in a worker.

In cosmos's WATCHER mode one producer task runs ``dbt build`` and records each node's result in
XCom; every model (and each model's tests) keeps an Airflow task that only waits for that result.
Started in a worker, each such task costs a process and a parse of the DAG file, twice (before
and after deferring): seconds each, which on a small machine made the per-node tasks, not dbt,
the bulk of the run. Here they start directly in the triggerer (Airflow's ``start_from_trigger``)
and end there (``TaskSuccessEvent`` / ``TaskFailedEvent`` / ``TaskSkippedEvent``), so a node's
task costs one async XCom poll.

The consumer tasks keep cosmos's edges (the dbt lineage, shown in the Airflow graph) but take the
trigger rule ``always``: each is handed to the triggerer as the run starts and turns green or red
as its node finishes in the one ``dbt build``, instead of waiting for its upstream tasks one
scheduler round at a time (twenty rounds deep here). dbt itself skips, and cosmos reports as
failed, every node below a failure, so failures still flow down the graph.

Under ``dag.test()`` (one process, one task at a time) a consumer must not run before the
producer: :func:`in_order` restores the default trigger rule for such a run, and the producer is
upstream of the group's first nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.task.trigger_rule import TriggerRule
from airflow.triggers.base import (
    StartTriggerArgs,
    TaskFailedEvent,
    TaskSkippedEvent,
    TaskSuccessEvent,
)
from cosmos.constants import PRODUCER_WATCHER_TASK_ID
from cosmos.operators._watcher.base import BaseConsumerSensor
from cosmos.operators._watcher.state import (
    is_dbt_node_status_failed,
    is_dbt_node_status_skipped,
    is_dbt_node_status_success,
)
from cosmos.operators._watcher.triggerer import WatcherTrigger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from airflow.sdk import DAG, TaskGroup
    from airflow.triggers.base import TriggerEvent

# The build task's state is polled this often (once for all node triggers of a run) ...
POLL_SECONDS = 1.0
# ... each node's own status this often while the build runs (one API call per node each time).
NODE_POLL_SECONDS = 15.0
ENDED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
_PRODUCER_STATES: dict[tuple[str, str, str], tuple[float, str | None]] = {}
_PRODUCER_LOCKS: dict[tuple[str, str, str], asyncio.Lock] = {}
# A node still unfinished this long after its task started fails (the producer's own timeout
# is the DAG's; this only bounds a lost producer).
NODE_TIMEOUT = timedelta(hours=2)


class NodeResultTrigger(WatcherTrigger):
    """cosmos's watcher trigger that ends its task itself.

    ``run_id`` may be None: started from the triggerer, the run is read from the task instance
    the triggerer attaches.
    """

    run_id: str
    dag_id: str

    def __init__(self, *, run_id: str | None = None, map_index: int | None = -1, **kwargs: Any):
        super().__init__(run_id=run_id or "", map_index=map_index, **kwargs)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialize under this class's path (the parent names its own)."""
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", kwargs

    async def _status(self) -> str | None:
        """The node's status, or for a test task the aggregated status of the model's tests."""
        if self.is_test_sensor:
            from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key

            return await self.get_xcom_val(get_tests_status_xcom_key(self.model_unique_id))
        return await self._get_node_status()

    async def _producer_state(self) -> str | None:
        """The dbt build task's state, read at most once per ``poke_interval`` for all the run's
        node triggers together (one API call, not one per node)."""
        key = (self.dag_id, self.run_id, self.producer_task_id)
        lock = _PRODUCER_LOCKS.setdefault(key, asyncio.Lock())
        async with lock:
            read_at, state = _PRODUCER_STATES.get(key, (-math.inf, None))
            if time.monotonic() - read_at >= self.poke_interval:
                state = await self._get_producer_task_status()
                _PRODUCER_STATES[key] = (time.monotonic(), state)
                for stale in [
                    k for k, (at, _) in _PRODUCER_STATES.items() if at < time.monotonic() - 3600
                ]:
                    del _PRODUCER_STATES[stale], _PRODUCER_LOCKS[stale]
        return state

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield one task-ending event: success, skipped, or failed.

        The node's own status is read every :data:`NODE_POLL_SECONDS` while the build runs (the
        UI's live progress) and once more as soon as the build ended.
        """
        if not self.run_id and self.task_instance is not None:
            self.run_id = self.task_instance.run_id
            self.dag_id = self.task_instance.dag_id
        read_at = -math.inf
        while True:
            producer = await self._producer_state()
            ended = producer in ENDED
            if ended or time.monotonic() - read_at >= NODE_POLL_SECONDS:
                read_at = time.monotonic()
                # Every status is pushed before the build task ends: this read sees it.
                status = await self._status()
                if is_dbt_node_status_success(status):
                    yield TaskSuccessEvent()
                    return
                if is_dbt_node_status_skipped(status):
                    yield TaskSkippedEvent()
                    return
                if is_dbt_node_status_failed(status):
                    self.log.error("dbt node %s: %s", self.model_unique_id, status)
                    yield TaskFailedEvent()
                    return
                if ended:
                    if (
                        producer == "success"
                    ):  # not run by dbt (ephemeral, empty), as cosmos reads it
                        yield TaskSuccessEvent()
                    else:
                        self.log.error("dbt build task ended %s before this node", producer)
                        yield TaskFailedEvent()
                    return
            await asyncio.sleep(self.poke_interval)


def start_in_triggerer(group: TaskGroup) -> None:
    """Make every cosmos watcher consumer task of ``group`` start and end in the triggerer, and
    put the producer upstream of the consumers that have no upstream within the group."""
    tasks = list(group.iter_tasks())
    producer = next(task for task in tasks if task.task_id.endswith(f".{PRODUCER_WATCHER_TASK_ID}"))
    consumers = [task for task in tasks if isinstance(task, BaseConsumerSensor)]
    in_group = {task.task_id for task in consumers}
    for task in consumers:
        task.start_from_trigger = True
        task.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{__name__}.{NodeResultTrigger.__name__}",
            trigger_kwargs={
                "model_unique_id": task.model_unique_id,
                "producer_task_id": producer.task_id,
                "dag_id": task.dag_id,
                "poke_interval": POLL_SECONDS,
                "is_test_sensor": task.is_test_sensor,
            },
            next_method="execute_complete",
            timeout=NODE_TIMEOUT,
        )
        task.trigger_rule = TriggerRule.ALWAYS
        if not in_group & task.upstream_task_ids:
            producer >> task


@contextlib.contextmanager
def in_order(dag: DAG) -> Iterator[None]:
    """While in the block, the watcher consumers of ``dag`` wait for their upstream tasks (the
    default trigger rule), as a one-process ``dag.test()`` run needs; restored on exit."""
    consumers = [task for task in dag.tasks if isinstance(task, BaseConsumerSensor)]
    saved = {task.task_id: task.trigger_rule for task in consumers}
    try:
        for task in consumers:
            task.trigger_rule = TriggerRule.ALL_SUCCESS
        yield
    finally:
        for task in consumers:
            task.trigger_rule = saved[task.task_id]
