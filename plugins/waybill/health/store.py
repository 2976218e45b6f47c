"""Write the health of every source table to ``ops.source_health`` (replaced each check).

Freshness comes from dbt (:mod:`waybill.health.freshness`); the last successful ingest run and
the dead-letter figures from the warehouse's own bookkeeping (``ops.load_batches``,
``ops.dead_letters``), the run's state from Airflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from waybill import warehouse

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

    from waybill.health.freshness import SourceFreshness

# How many recent load runs of a DAG to ask Airflow about before giving up on a success.
RUNS_ASKED = 10

COLUMNS = (
    "source_name",
    "table_name",
    "relation",
    "ingest_dag_id",
    "freshness_status",
    "freshness_exempt_reason",
    "freshness_measure",
    "last_loaded_at",
    "hours_since_loaded",
    "warn_after_hours",
    "error_after_hours",
    "last_successful_run_id",
    "last_successful_run_at",
    "message",
    "checked_at",
)

# Dead letters and records read per raw table, from the loader's bookkeeping.
DEAD_LETTER_FIGURES = """
update ops.source_health as h
set
    records_read_24h = coalesce(b.records_read, 0),
    dead_letters_24h = coalesce(b.dead_lettered, 0),
    dead_letter_rate = round(b.dead_lettered::numeric / nullif(b.records_read, 0), 4),
    dead_letters_total = coalesce(d.total, 0),
    oldest_dead_letter_at = d.oldest,
    dead_letter_lag_hours = round(extract(epoch from h.checked_at - d.oldest)::numeric / 3600, 2)
from ops.source_health as s
left join (
    select
        source || '__' || entity as identifier,
        sum(records_read) as records_read,
        sum(records_dead_lettered) as dead_lettered
    from ops.load_batches
    where started_at > now() - interval '24 hours'
    group by 1
) as b on 'raw.' || b.identifier = s.relation
left join (
    select source || '__' || entity as identifier, count(*) as total, min(created_at) as oldest
    from ops.dead_letters
    group by 1
) as d on 'raw.' || d.identifier = s.relation
where h.source_name = s.source_name and h.table_name = s.table_name
"""


def write_source_health(
    rows: list[SourceFreshness], dagrun_state: Callable[[str, str], str | None]
) -> int:
    """Replace ``ops.source_health`` with ``rows`` (as the transformer), adding each table's
    last successful ingest run (``dagrun_state(dag_id, run_id)`` asks Airflow, None when it
    does not know the run) and its dead-letter figures. Returns the rows written."""
    checked_at = datetime.now(UTC)
    with warehouse.connect(role="transformer") as conn:
        successes = _last_successes(conn, rows, dagrun_state)
        with conn.transaction():
            conn.execute("delete from ops.source_health")
            with conn.cursor() as cur:
                cur.executemany(
                    f"insert into ops.source_health ({', '.join(COLUMNS)})"
                    f" values ({', '.join(['%s'] * len(COLUMNS))})",
                    [_values(row, successes.get(row.name), checked_at) for row in rows],
                )
            conn.execute(DEAD_LETTER_FIGURES)
    return len(rows)


def _values(row: SourceFreshness, success: tuple[str, Any] | None, checked_at: datetime) -> tuple:
    run_id, run_at = success or (None, None)
    return (
        row.source_name,
        row.table_name,
        row.relation,
        row.ingest_dag_id,
        row.status,
        row.exempt_reason,
        row.measure,
        row.last_loaded_at,
        row.hours_since_loaded,
        row.warn_after_hours,
        row.error_after_hours,
        run_id,
        run_at,
        row.message,
        checked_at,
    )


def _last_successes(
    conn: psycopg.Connection,
    rows: list[SourceFreshness],
    dagrun_state: Callable[[str, str], str | None],
) -> dict[str, tuple[str, Any]]:
    """Per table (``source.table``): the newest run of its ingest DAG that loaded its raw table
    and ended in success, with when its load finished."""
    found: dict[str, tuple[str, Any]] = {}
    states: dict[tuple[str, str], str | None] = {}
    for row in rows:
        if not row.ingest_dag_id or not row.relation.startswith("raw."):
            continue
        identifier = row.relation.removeprefix("raw.")
        runs = conn.execute(
            "select run_id, max(finished_at) from ops.load_batches"
            " where source || '__' || entity = %s and status = 'succeeded' and run_id is not null"
            " group by run_id order by 2 desc limit %s",
            (identifier, RUNS_ASKED),
        ).fetchall()
        if identifier == "carrier_events":  # every carrier's events: any run of the DAG
            runs = conn.execute(
                "select run_id, max(finished_at) from ops.load_batches"
                " where status = 'succeeded' and run_id is not null"
                " group by run_id order by 2 desc limit %s",
                (RUNS_ASKED,),
            ).fetchall()
        for run_id, finished_at in runs:
            key = (row.ingest_dag_id, run_id)
            if key not in states:
                states[key] = dagrun_state(*key)
            if states[key] == "success":
                found[row.name] = (run_id, finished_at)
                break
    conn.rollback()
    return found
