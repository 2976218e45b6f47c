"""``raw.carrier_events``: the canonical fields of every carrier event, landed beside raw.

One row per physical event (``event_id``, the contract's cross-channel id): the same scan
pulled from a feed, pushed by a webhook or filed in X12 lands once — the first landing keeps
its channel and lineage (``raw_table``, ``raw_natural_key``, ``raw_payload_hash``: the primary
key of the raw row it came from); a later landing with an earlier ``published_at`` (a
republication seen out of order, or a pull of an event first pushed by a webhook, whose body
carries no publication time) lowers or sets ``published_at`` and touches ``loaded_at`` so
incremental models re-read it. Written in the transaction of the raw rows it derives from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

    import psycopg

    from waybill.connectors.carriers import CanonicalEvent

TABLE = "raw.carrier_events"

# (column, type) of the landed row, in COPY order; raw_id and loaded_at are set by Postgres.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "text not null"),
    ("carrier_code", "text not null"),
    ("tracking_number", "text"),
    ("package_unique_id", "text"),
    ("shipper_reference", "text"),
    ("milestone", "text not null"),
    ("source_code", "text not null"),
    ("is_exception", "boolean not null"),
    ("reason_code", "text"),
    ("reason_description", "text"),
    ("source_description", "text"),
    ("classifier", "text not null"),
    ("occurred_at_local", "text"),
    ("occurred_at_utc", "timestamptz"),
    ("utc_offset", "text"),
    ("time_zone", "text"),
    ("time_zone_source", "text not null"),
    ("city", "text"),
    ("state", "text"),
    ("postal_code", "text"),
    ("country", "text"),
    ("unlocode", "text"),
    ("source_format", "text not null"),
    ("source_channel", "text not null"),
    ("source_event_id", "text"),
    ("is_retraction", "boolean not null"),
    ("retracts_event_id", "text"),
    ("published_at", "timestamptz"),
    ("raw_table", "text not null"),
    ("raw_natural_key", "text not null"),
    ("raw_payload_hash", "text not null"),
    ("record_path", "text not null"),
    ("batch_id", "uuid not null"),
)
_NAMES = ", ".join(name for name, _ in COLUMNS)


@dataclass(frozen=True, slots=True)
class Lineage:
    """The raw row an event came from: its table and primary key, and when it was published."""

    raw_table: str
    natural_key: str
    payload_hash: str
    published_at: datetime | None


def ensure_table(conn: psycopg.Connection | psycopg.Cursor) -> None:
    """Create ``raw.carrier_events`` and its indexes if missing (inside the caller's transaction)."""
    columns = ",\n    ".join(f"{name} {kind}" for name, kind in COLUMNS)
    conn.execute("select pg_advisory_xact_lock(hashtext('waybill.raw.carrier_events.ddl'))")
    conn.execute(
        f"""
        create table if not exists {TABLE} (
            raw_id bigint generated always as identity (cache 1000),
            {columns},
            loaded_at timestamptz not null default clock_timestamp(),
            constraint carrier_events__event_id primary key (event_id)
        )
        """
    )
    conn.execute(f"create index if not exists carrier_events__loaded_at on {TABLE} (loaded_at)")


def row(event: CanonicalEvent, lineage: Lineage, batch_id: uuid.UUID, reference: str | None):
    """Return the COPY row (a tuple in :data:`COLUMNS` order) of one canonical event."""
    place = event.location
    return (
        event.event_id,
        event.carrier,
        event.tracking_number,
        event.package_unique_id,
        reference,
        event.milestone,
        event.source_code,
        event.is_exception,
        event.reason_code,
        event.reason_description,
        event.source_description,
        event.classifier,
        event.occurred_at_local,
        event.occurred_at_utc,
        event.utc_offset,
        event.time_zone,
        event.time_zone_source,
        place.city,
        place.state,
        place.postal_code,
        place.country,
        place.unlocode,
        event.source_format,
        event.source_channel,
        event.source_event_id,
        event.is_retraction,
        event.retracts_event_id,
        lineage.published_at,
        lineage.raw_table,
        lineage.natural_key,
        lineage.payload_hash,
        event.path,
        batch_id,
    )


def write(cur: psycopg.Cursor, rows: list[tuple]) -> int:
    """Land ``rows`` (from :func:`row`) in ``raw.carrier_events``; return how many were new.

    COPYs into a temporary table, then inserts by ``event_id`` in key order (concurrent writers
    lock keys in the same order, so they wait instead of deadlocking): a new event lands, a
    known one only takes an earlier (or a first) ``published_at``. Runs inside the caller's transaction.
    """
    if not rows:
        return 0
    columns = ", ".join(f"{name} {kind.split()[0]}" for name, kind in COLUMNS)
    cur.execute(
        f"create temp table if not exists waybill_carrier_events ({columns}) on commit delete rows"
    )
    with cur.copy(f"copy waybill_carrier_events ({_NAMES}) from stdin") as copy:
        for values in rows:
            copy.write_row(values)
    cur.execute(
        f"""
        with landed as (
            insert into {TABLE} as existing ({_NAMES})
            select distinct on (event_id) {_NAMES}
            from waybill_carrier_events
            order by event_id, published_at nulls last
            on conflict (event_id) do update
                set
                    published_at = least(existing.published_at, excluded.published_at),
                    loaded_at = clock_timestamp()
                where existing.published_at is distinct from
                    least(existing.published_at, excluded.published_at)
            returning (xmax = 0) as inserted
        )
        select count(*) filter (where inserted) from landed
        """
    )
    result = cur.fetchone()
    cur.execute("truncate waybill_carrier_events")
    return int(result[0]) if result else 0
