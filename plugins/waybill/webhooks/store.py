"""Durable, replay-safe storage of one webhook event in ``raw.<carrier>__webhook_events``.

Same columns as every raw table (the payload is the pushed body, kept whole as JSONB). The
natural key is the carrier's event id header; an event id already stored is not stored again,
whatever its body (a replay), under a transaction-scoped advisory lock so two concurrent
deliveries of one event store it once. One event is one small transaction: webhooks arrive one
at a time, so there is nothing to batch.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from psycopg import sql

from waybill.load.landed import notify_landed
from waybill.load.records import encode_payload, key_text
from waybill.load.schema import raw_table_name

if TYPE_CHECKING:
    import psycopg


def ensure_tables(conn: psycopg.Connection, carrier: str, entity: str) -> sql.Identifier:
    """The raw table's identifier; ``waybill warehouse migrate`` creates it (the webhook role may not)."""
    return sql.Identifier("raw", raw_table_name(carrier, entity))


def store_event(
    conn: psycopg.Connection,
    carrier: str,
    entity: str,
    event_id: str,
    body: str,
    location: str,
) -> bool:
    """Store one event; return True when it is new, False for a replay of a stored event id.

    ``body`` is the JSON text received. Raises :class:`PayloadError` when JSONB cannot hold it
    (not JSON, NUL, not UTF-8): the caller dead-letters it.
    """
    text, digest = encode_payload(body)
    event_id = key_text(event_id)
    table = ensure_tables(conn, carrier, entity)
    with conn.transaction():
        conn.execute(
            "select pg_advisory_xact_lock(hashtext(%s))", (f"waybill.webhook.{carrier}.{event_id}",)
        )
        cursor = conn.execute(
            sql.SQL(
                """
                insert into {table} (
                    batch_id, source, entity, natural_key, payload_hash, payload,
                    record_location, extracted_at
                )
                select %(batch_id)s, %(source)s, %(entity)s, %(key)s, %(digest)s,
                    incoming, %(location)s, %(received_at)s
                from (select %(payload)s::jsonb as incoming) as event
                where not exists (select 1 from {table} where natural_key = %(key)s)
                on conflict (natural_key, payload_hash) do nothing
                """
            ).format(table=table),
            {
                "batch_id": uuid.uuid4(),
                "source": carrier,
                "entity": entity,
                "key": event_id,
                "payload": text,
                "digest": digest,
                "location": location,
                "received_at": datetime.now(UTC),
            },
        )
        stored = cursor.rowcount == 1
        if stored:  # sent at commit: wakes the ingestion DAG (waybill.orchestration.landed)
            notify_landed(conn, raw_table_name(carrier, entity))
        return stored


def store_dead_letter(
    conn: psycopg.Connection,
    carrier: str,
    entity: str,
    location: str,
    reason: str,
    raw: str,
    field: str = "body",
) -> None:
    """Record a signed event that could not be stored, keyed so a replay is counted once.

    ``field`` names what was wrong (``body``, or the JSON path, ``$`` for the nesting depth).
    """
    from waybill.load.copy import _text

    ensure_tables(conn, carrier, entity)
    with conn.transaction():
        conn.execute(
            """
            insert into ops.dead_letters (
                dead_letter_key, batch_id, source, entity, record_location, field, reason,
                raw_record
            )
            values (md5(concat_ws('|', %(source)s::text, %(entity)s::text, %(location)s::text,
                    %(reason)s::text, %(raw)s::text)),
                %(batch_id)s, %(source)s, %(entity)s, %(location)s, %(field)s, %(reason)s,
                %(raw)s)
            on conflict (dead_letter_key) do nothing
            """,
            {
                "batch_id": uuid.uuid4(),
                "source": carrier,
                "entity": entity,
                "location": _text(location),
                "field": _text(field),
                "reason": _text(reason),
                "raw": _text(raw[:10_000]),
            },
        )
