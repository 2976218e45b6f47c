"""Alerts that name the late source: the freshness verdicts' and the ingest DAGs' deadlines."""

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


async def ingest_run_late(
    dag_id: str, sources: list[str], interval_minutes: int, context: Any = None
) -> str:
    """The ingest DAGs' deadline callback (run by the triggerer when a run misses its deadline):
    logs an error naming the DAG and the sources it loads, and returns that message."""
    run = ""
    if isinstance(context, dict):
        dag_run = context.get("dag_run") or {}
        run_id = dag_run.get("run_id") if isinstance(dag_run, dict) else None
        run = f" run {run_id}" if run_id else ""
    message = (
        f"late source(s) {', '.join(sources)}: {dag_id}{run} did not finish within"
        f" {interval_minutes} min of being queued"
    )
    log.error(message)
    return message
