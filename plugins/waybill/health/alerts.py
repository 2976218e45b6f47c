"""Alerts that name the late source: the freshness verdicts' and the ingest tasks' failure callback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from waybill.health.freshness import SourceFreshness

log = logging.getLogger(__name__)


def late_sources(rows: list[SourceFreshness], status: str = "error") -> list[str]:
    """One line per source table whose freshness verdict is ``status``, naming it, when it last
    loaded and the threshold it missed (or why dbt could not measure it)."""
    limit = "error_after_hours" if status == "error" else "warn_after_hours"
    lines = []
    for row in rows:
        if row.status != status:
            continue
        if row.status == "runtime error":
            lines.append(f"{row.name} ({row.relation}): freshness not measured: {row.message}")
            continue
        since = (
            f"last loaded {row.hours_since_loaded} h ago ({row.last_loaded_at})"
            if row.last_loaded_at
            else "never loaded"
        )
        lines.append(
            f"{row.name} ({row.relation}, loaded by {row.ingest_dag_id}): {since},"
            f" {status} after {getattr(row, limit)} h"
        )
    return lines


def ingest_task_failed(sources: list[str], context: Any) -> str:
    """The ingest task's ``on_failure_callback`` (each try that fails or times out): logs an error
    naming the late source and entity (the task's ``target``; the DAG's ``sources`` when the
    context does not say) and the reason, and returns that message."""
    task = context.get("task")
    target = (getattr(task, "op_kwargs", None) or {}).get("target")
    late = target.replace("/", " entity ") if target else ", ".join(sources)
    ti = context.get("ti")
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
    if getattr(ti, "map_index", -1) not in (-1, None):
        where += f"[{ti.map_index}]"
    reason = context.get("exception")
    message = f"late source {late}: {where} failed ({type(reason).__name__}: {reason})"
    log.error(message)
    return message
