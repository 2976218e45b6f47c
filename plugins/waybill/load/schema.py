"""Warehouse DDL: the ``ops`` tables and the uniform shape of every ``raw.<source>__<entity>`` table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from psycopg import sql

if TYPE_CHECKING:
    import psycopg

DDL_DIR = Path(__file__).resolve().parents[3] / "include" / "ddl"


def ensure_ops_schema(conn: psycopg.Connection) -> None:
    """Create the ``raw`` and ``ops`` schemas, every ``include/ddl/*.sql`` object and
    ``raw.carrier_events`` (the canonical input dbt's carrier staging reads) if missing.

    Part of the migration (:func:`waybill.roles.migrate`), which also grants each role its share;
    components never run it (their roles may not). Runs under a transaction-scoped advisory
    lock so that parallel callers do not race on DDL.
    """
    from waybill.load import carrier_events

    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('waybill.ddl'))")
        for path in sorted(DDL_DIR.glob("*.sql")):
            conn.execute(path.read_text())
        carrier_events.ensure_table(conn)


def raw_table_name(source: str, entity: str) -> str:
    """Return ``<source>__<entity>``; see :func:`waybill.sources.raw_table_name` (raises ``ValueError``)."""
    from waybill.sources import raw_table_name as checked_name

    return checked_name(source, entity)


def ensure_raw_table(conn: psycopg.Connection, source: str, entity: str) -> sql.Identifier:
    """Create ``raw.<source>__<entity>`` if missing and return its qualified identifier.

    Every raw table has the same columns: the payload kept whole as JSONB plus load metadata,
    keyed on (natural_key, payload_hash) so the same record never lands twice. ``raw_id`` orders
    versions by arrival; it is deliberately not indexed (one index per row written is the cost
    that matters in COPY throughput, and staging reads whole tables or recent ``loaded_at``).
    """
    name = raw_table_name(source, entity)
    table = sql.Identifier("raw", name)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"waybill.raw.{name}",))
        conn.execute(
            sql.SQL(
                """
                create table if not exists {table} (
                    raw_id bigint generated always as identity (cache 1000),
                    batch_id uuid not null,
                    source text not null,
                    entity text not null,
                    natural_key text not null,
                    payload_hash text not null,
                    payload jsonb not null,
                    record_location text,
                    extracted_at timestamptz not null,
                    loaded_at timestamptz not null default clock_timestamp(),
                    constraint {unique} primary key (natural_key, payload_hash)
                )
                """
            ).format(table=table, unique=sql.Identifier(f"{name}__key_hash"))
        )
    return table
