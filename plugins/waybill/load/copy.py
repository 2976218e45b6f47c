"""The loader: land a stream of records into ``raw.<source>__<entity>`` with COPY, in one transaction.

One batch = one transaction holding: the records (COPY into a temp table, then one set-based
``insert … on conflict do nothing`` deduplicating on (natural key, payload hash)), the dead
letters, the ``ops.load_batches`` row with its counts, and the watermark advance. A crash at
any point rolls all of it back, so a rerun neither loses nor duplicates anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from psycopg import sql

from waybill.load.records import DeadLetter, PayloadError, Record, payload_text
from waybill.load.schema import ensure_raw_table

if TYPE_CHECKING:
    from collections.abc import Iterable

    import psycopg


@dataclass(frozen=True)
class BatchResult:
    """Counts for one batch: every record read is landed, a duplicate, or dead-lettered."""

    batch_id: uuid.UUID
    source: str
    entity: str
    read: int
    landed: int
    duplicate: int
    dead_lettered: int
    watermark: str | None

    def as_dict(self) -> dict[str, object]:
        """Return the counts as a JSON-able dict (for XCom and logs)."""
        return {
            "batch_id": str(self.batch_id),
            "source": self.source,
            "entity": self.entity,
            "read": self.read,
            "landed": self.landed,
            "duplicate": self.duplicate,
            "dead_lettered": self.dead_lettered,
            "watermark": self.watermark,
        }


def load_batch(
    conn: psycopg.Connection,
    source: str,
    entity: str,
    items: Iterable[Record | DeadLetter],
    *,
    extracted_at: datetime | None = None,
    watermark: str | None = None,
    run_id: str | None = None,
) -> BatchResult:
    """Land ``items`` into ``raw.<source>__<entity>`` and return the batch's counts.

    Reads the iterable once, streaming it into COPY (memory stays flat in the number of
    records). Records whose payload JSONB cannot hold become dead letters; connectors may pass
    their own :class:`DeadLetter` items for records they could not parse. Writes
    ``ops.load_batches``, ``ops.dead_letters`` and, when ``watermark`` is given,
    ``ops.watermarks`` — all in one transaction with the data.
    """
    table = ensure_raw_table(conn, source, entity)
    batch_id = uuid.uuid4()
    extracted_at = extracted_at or datetime.now(UTC)
    dead: list[DeadLetter] = []
    read = 0
    with conn.transaction(), conn.cursor() as cur:
        previous = _current_watermark(cur, source, entity)
        cur.execute(
            "insert into ops.load_batches (batch_id, source, entity, run_id, watermark_before)"
            " values (%s, %s, %s, %s, %s)",
            (batch_id, source, entity, run_id, previous),
        )
        cur.execute(
            "create temp table waybill_incoming ("
            " ordinal bigint, natural_key text, payload jsonb, record_location text"
            ") on commit drop"
        )
        with cur.copy(
            "copy waybill_incoming (ordinal, natural_key, payload, record_location) from stdin"
        ) as copy:
            for item in items:
                read += 1
                if isinstance(item, DeadLetter):
                    dead.append(item)
                    continue
                try:
                    text = payload_text(item.payload)
                except PayloadError as exc:
                    dead.append(
                        DeadLetter(item.location, exc.reason, exc.field, _raw_repr(item.payload))
                    )
                    continue
                copy.write_row((read, item.natural_key, text, item.location))
        cur.execute(
            sql.SQL(
                """
                insert into {table} (
                    batch_id, source, entity, natural_key, payload_hash, payload,
                    record_location, extracted_at
                )
                select distinct on (natural_key, payload_hash)
                    %(batch_id)s, %(source)s, %(entity)s, natural_key, payload_hash,
                    payload, record_location, %(extracted_at)s
                from (
                    select *, md5(payload::text) as payload_hash from waybill_incoming
                ) as incoming
                order by natural_key, payload_hash, ordinal
                on conflict (natural_key, payload_hash) do nothing
                """
            ).format(table=table),
            {
                "batch_id": batch_id,
                "source": source,
                "entity": entity,
                "extracted_at": extracted_at,
            },
        )
        landed = max(cur.rowcount, 0)
        _write_dead_letters(cur, batch_id, source, entity, dead)
        if watermark is not None:
            cur.execute(
                "insert into ops.watermarks (source, entity, cursor_value) values (%s, %s, %s)"
                " on conflict (source, entity) do update"
                " set cursor_value = excluded.cursor_value, updated_at = now()",
                (source, entity, watermark),
            )
        result = BatchResult(
            batch_id=batch_id,
            source=source,
            entity=entity,
            read=read,
            landed=landed,
            duplicate=read - landed - len(dead),
            dead_lettered=len(dead),
            watermark=watermark if watermark is not None else previous,
        )
        cur.execute(
            "update ops.load_batches set finished_at = now(), status = 'succeeded',"
            " records_read = %s, records_landed = %s, records_duplicate = %s,"
            " records_dead_lettered = %s, watermark_after = %s where batch_id = %s",
            (read, landed, result.duplicate, len(dead), result.watermark, batch_id),
        )
    return result


def current_watermark(conn: psycopg.Connection, source: str, entity: str) -> str | None:
    """Return the stored cursor for (source, entity), or None before the first load."""
    with conn.cursor() as cur:
        return _current_watermark(cur, source, entity)


def _current_watermark(cur: psycopg.Cursor, source: str, entity: str) -> str | None:
    cur.execute(
        "select cursor_value from ops.watermarks where source = %s and entity = %s",
        (source, entity),
    )
    row = cur.fetchone()
    return row[0] if row else None


def _write_dead_letters(
    cur: psycopg.Cursor, batch_id: uuid.UUID, source: str, entity: str, dead: list[DeadLetter]
) -> None:
    """Record dead letters, keyed so that reloading the same bad record does not count it twice."""
    if not dead:
        return
    cur.execute(
        "create temp table waybill_dead (record_location text, field text, reason text,"
        " raw_record text) on commit drop"
    )
    with cur.copy(
        "copy waybill_dead (record_location, field, reason, raw_record) from stdin"
    ) as copy:
        for letter in dead:
            copy.write_row(
                (
                    _text(letter.location),
                    _text(letter.field),
                    _text(letter.reason),
                    _text(letter.raw),
                )
            )
    cur.execute(
        """
        insert into ops.dead_letters (
            dead_letter_key, batch_id, source, entity, record_location, field, reason, raw_record
        )
        select distinct on (key)
            key, %(batch_id)s, %(source)s, %(entity)s, record_location, field, reason, raw_record
        from (
            select *, md5(concat_ws(
                '|', %(source)s, %(entity)s, record_location, field, reason, raw_record
            )) as key
            from waybill_dead
        ) as incoming
        on conflict (dead_letter_key) do nothing
        """,
        {"batch_id": batch_id, "source": source, "entity": entity},
    )


def _text(value: str | None) -> str | None:
    """Make arbitrary text safe for a Postgres text column (no NUL, valid UTF-8)."""
    if value is None:
        return None
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _raw_repr(payload: object) -> str:
    text = payload if isinstance(payload, str) else repr(payload)
    return text[:10_000]
