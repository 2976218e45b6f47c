"""The loader: land a stream of records into ``raw.<source>__<entity>`` with COPY, in one transaction.

One batch = one transaction holding: the records, the dead letters, the ``ops.load_batches``
row with its counts, and the watermark advance. Records are deduplicated on (natural key,
payload hash): per chunk, one indexed query finds which are already landed and the rest are
COPYed straight into the raw table as they are encoded, under a per-table advisory lock so no
other writer slips in between. A crash at any point rolls all of it back, so a rerun neither loses nor duplicates.

No record can fail a batch (``records.py`` holds the limits): a natural key past 512 bytes is
stored as its SHA-256 and one past 4 kB, a payload nested past 64 levels, a non-finite number, a
NUL or text that is not UTF-8 each become a dead letter naming the record and field.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, TypeVar, overload

from psycopg import sql
from psycopg.pq import TransactionStatus

from waybill.load import carrier_events
from waybill.load.records import (
    DeadLetter,
    PayloadError,
    Record,
    encode_payload_bytes,
    key_text,
)
from waybill.load.schema import ensure_raw_table

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    # (record, payload_hash, batch_id) -> (raw.carrier_events rows, dead letters)
    EventDeriver = Callable[[Record, str, uuid.UUID], tuple[list[tuple], list[DeadLetter]]]

    import psycopg


T = TypeVar("T")

# Records serialised, checked against the raw table and copied per chunk: memory stays flat in
# the batch size, and one "which of these keys exist" query serves thousands of rows.
CHUNK_RECORDS = 5_000
# Rows per write within a chunk's COPY: small enough that the server works alongside the encoder.
COPY_WRITE_ROWS = 256


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
    events_landed: int = 0
    events_dead_lettered: int = 0

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
            "events_landed": self.events_landed,
            "events_dead_lettered": self.events_dead_lettered,
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
    before_commit: Callable[[psycopg.Cursor, BatchResult], None] | None = None,
    events: EventDeriver | None = None,
) -> BatchResult:
    """Land ``items`` into ``raw.<source>__<entity>`` and return the batch's counts.

    Reads the iterable once, streaming it into COPY (memory stays flat in the number of
    records). Records whose payload JSONB cannot hold become dead letters; connectors may pass
    their own :class:`DeadLetter` items for records they could not parse. Writes
    ``ops.load_batches``, ``ops.dead_letters`` and, when ``watermark`` is given,
    ``ops.watermarks`` — all in one transaction with the data. ``before_commit(cursor, result)``
    runs last inside that transaction (file sources record the file they read there).
    ``events(record, payload_hash, batch_id)`` (carrier entities) returns the canonical event
    rows and dead letters of each record that landed new; they go to ``raw.carrier_events``
    and ``ops.dead_letters`` in the same transaction (not counted in read/landed/duplicate).
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        # Inside a caller's transaction this batch would only be a savepoint: not atomic alone.
        raise RuntimeError(
            f"load_batch({source}/{entity}) needs an idle connection: commit or roll back first"
        )
    table = ensure_raw_table(conn, source, entity)
    batch_id = uuid.uuid4()
    extracted_at = extracted_at or datetime.now(UTC)
    dead: list[DeadLetter] = []
    event_dead: list[DeadLetter] = []
    read = landed = events_landed = 0
    with conn.transaction(), conn.cursor() as cur:
        # One writer per raw table at a time: the existence check and the COPY below must not race.
        cur.execute(
            "select pg_advisory_xact_lock(hashtext(%s))", (f"waybill.raw.{source}__{entity}",)
        )
        previous = _current_watermark(cur, source, entity)
        cur.execute(
            "insert into ops.load_batches (batch_id, source, entity, run_id, watermark_before)"
            " values (%s, %s, %s, %s, %s)",
            (batch_id, source, entity, run_id, previous),
        )
        # Into an empty table (a first load or a backfill) only this batch's own rows can repeat,
        # so a set of what it copied replaces the per-chunk existence query.
        cur.execute(sql.SQL("select not exists (select from {table})").format(table=table))
        row = cur.fetchone()
        assert row is not None  # an exists() query returns one row
        copied: set[str] | None = set() if row[0] else None
        prefix = _constant_columns(batch_id, source, entity, extracted_at)
        for chunk in chunked(items, CHUNK_RECORDS):
            read += len(chunk)
            seen = copied if copied is not None else _landed_keys(cur, table, chunk)
            new: list[tuple[Record, str]] | None = [] if events is not None else None
            landed += _copy_chunk(cur, table, chunk, prefix, seen, dead, new)
            if events is not None and new:
                events_landed += _land_events(cur, events, new, batch_id, event_dead)
        _write_dead_letters(cur, batch_id, source, entity, dead + event_dead)
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
            events_landed=events_landed,
            events_dead_lettered=len(event_dead),
        )
        cur.execute(
            "update ops.load_batches set finished_at = now(), status = 'succeeded',"
            " records_read = %s, records_landed = %s, records_duplicate = %s,"
            " records_dead_lettered = %s, watermark_after = %s where batch_id = %s",
            (read, landed, result.duplicate, len(dead), result.watermark, batch_id),
        )
        if before_commit is not None:
            before_commit(cur, result)
    return result


def land_events(
    conn: psycopg.Connection,
    source: str,
    entity: str,
    records: Iterable[tuple[Record, str]],
    events: EventDeriver,
    *,
    watermark: str | None,
    run_id: str | None = None,
) -> BatchResult:
    """Derive and land the canonical events of records already in raw (webhook pushes).

    ``records`` are ``(record, payload_hash)`` pairs read back from the raw table. Writes, in
    one transaction, an ``ops.load_batches`` row (read = records, landed = new events), the
    events into ``raw.carrier_events``, the dead letters of what could not be normalised, and
    the ``watermark``. Re-deriving a record changes nothing (events land once by id, dead
    letters once by content).
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError(f"land_events({source}/{entity}) needs an idle connection")
    batch_id = uuid.uuid4()
    dead: list[DeadLetter] = []
    read = landed = 0
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "select pg_advisory_xact_lock(hashtext(%s))", (f"waybill.events.{source}__{entity}",)
        )
        previous = _current_watermark(cur, source, entity)
        cur.execute(
            "insert into ops.load_batches (batch_id, source, entity, run_id, watermark_before)"
            " values (%s, %s, %s, %s, %s)",
            (batch_id, source, entity, run_id, previous),
        )
        for chunk in chunked(records, CHUNK_RECORDS):
            read += len(chunk)
            landed += _land_events(cur, events, chunk, batch_id, dead)
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
            landed=0,
            duplicate=0,
            dead_lettered=0,
            watermark=watermark if watermark is not None else previous,
            events_landed=landed,
            events_dead_lettered=len(dead),
        )
        cur.execute(
            "update ops.load_batches set finished_at = now(), status = 'succeeded',"
            " records_read = %s, records_landed = 0, records_duplicate = 0,"
            " records_dead_lettered = %s, watermark_after = %s where batch_id = %s",
            (read, len(dead), result.watermark, batch_id),
        )
    return result


def _land_events(
    cur: psycopg.Cursor,
    events: EventDeriver,
    new: list[tuple[Record, str]],
    batch_id: uuid.UUID,
    dead: list[DeadLetter],
) -> int:
    """Derive the canonical events of a chunk's newly landed records and land them."""
    rows: list[tuple] = []
    for record, digest in new:
        derived, letters = events(record, digest, batch_id)
        rows.extend(derived)
        dead.extend(letters)
    return carrier_events.write(cur, rows)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield ``items`` as lists of at most ``size``, reading the iterable lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _landed_keys(
    cur: psycopg.Cursor, table: sql.Identifier, chunk: list[Record | DeadLetter]
) -> set[str]:
    """Return payload hash + natural key of the rows already in the raw table for the chunk's keys.

    One indexed query per chunk (the primary key leads with the natural key); keys Postgres
    could not hold are left out — their records become dead letters when encoded.
    """
    keys = set()
    for item in chunk:
        if isinstance(item, Record):
            try:
                keys.add(key_text(item.natural_key))
            except PayloadError:
                continue
    if not keys:
        return set()
    cur.execute(
        sql.SQL(
            "select payload_hash || natural_key from {table} where natural_key = any(%s::text[])"
        ).format(table=table),
        (list(keys),),
    )
    return {marker for (marker,) in cur.fetchall()}


def _copy_chunk(
    cur: psycopg.Cursor,
    table: sql.Identifier,
    chunk: list[Record | DeadLetter],
    prefix: bytes,
    seen: set[str],
    dead: list[DeadLetter],
    new: list[tuple[Record, str]] | None = None,
) -> int:
    """Encode a chunk and COPY its new rows straight into the raw table; return how many.

    A row whose payload hash + natural key is in ``seen`` — landed before, or earlier in this
    batch — is a duplicate; ``seen`` gains the rest. Rows go to the server in small groups as
    they are encoded, so Postgres parses and indexes them while Python encodes the next ones
    (the advisory lock keeps other writers out, so nothing copied can conflict). COPY's binary
    format carries each value length-prefixed, so nothing is escaped. Dead letters (passed in,
    or payloads JSONB cannot hold) are appended to ``dead``; each row copied, with its payload
    hash, to ``new`` when given.
    """
    lines: list[bytes] = []
    landed = 0
    with cur.copy(
        sql.SQL(
            "copy {table} (batch_id, source, entity, extracted_at, natural_key, payload_hash,"
            " payload, record_location) from stdin (format binary)"
        ).format(table=table)
    ) as copy:
        copy.write(_BINARY_SIGNATURE)
        for item in chunk:
            if isinstance(item, DeadLetter):
                dead.append(item)
                continue
            try:
                data, digest = encode_payload_bytes(item.payload)
                key = key_text(item.natural_key)
            except PayloadError as exc:
                dead.append(
                    DeadLetter(
                        _text(item.location) or "", exc.reason, exc.field, _raw_repr(item.payload)
                    )
                )
                continue
            marker = digest + key  # the hash is fixed-width: this pair, as one string
            if marker in seen:
                continue
            seen.add(marker)
            if new is not None:
                new.append((item, digest))
            location = item.location
            lines.append(
                b"%b%b%b%b%b\x01%b%b"
                % (
                    prefix,
                    _binary_text(key),
                    _HASH_LENGTH,
                    digest.encode("ascii"),
                    _INT32(len(data) + 1),  # jsonb's binary form: version 1, then the text
                    data,
                    _NULL if location is None else _binary_text(_text(location)),
                )
            )
            landed += 1
            if len(lines) >= COPY_WRITE_ROWS:
                copy.write(b"".join(lines))
                lines.clear()
        lines.append(_BINARY_TRAILER)
        copy.write(b"".join(lines))
    return landed


# COPY's binary format: a signature, then per row a field count and length-prefixed values.
_BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_BINARY_TRAILER = struct.pack("!h", -1)
_INT32 = struct.Struct("!i").pack
_NULL = _INT32(-1)
_HASH_LENGTH = _INT32(32)
_COLUMNS = 8
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _binary_text(value: str) -> bytes:
    """Render one text value for binary COPY: its UTF-8 length, then the bytes."""
    data = value.encode("utf-8")
    return _INT32(len(data)) + data


def _constant_columns(
    batch_id: uuid.UUID, source: str, entity: str, extracted_at: datetime
) -> bytes:
    """Render, once, the start of every binary COPY row of a batch: the field count and the
    columns all its rows share (batch id, source, entity, extracted_at)."""
    microseconds = (extracted_at.astimezone(UTC) - _POSTGRES_EPOCH) // timedelta(microseconds=1)
    return b"".join(
        (
            struct.pack("!h", _COLUMNS),
            _INT32(16),
            batch_id.bytes,
            _binary_text(source),
            _binary_text(entity),
            _INT32(8),
            struct.pack("!q", microseconds),
        )
    )


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
                '|', %(source)s::text, %(entity)s::text, record_location, field, reason, raw_record
            )) as key
            from waybill_dead
        ) as incoming
        on conflict (dead_letter_key) do nothing
        """,
        {"batch_id": batch_id, "source": source, "entity": entity},
    )


@overload
def _text(value: str) -> str: ...


@overload
def _text(value: str | None) -> str | None: ...


def _text(value: str | None) -> str | None:
    """Make arbitrary text safe for a Postgres text column (no NUL, valid UTF-8)."""
    if value is None or (value.isascii() and "\x00" not in value):
        return value
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _raw_repr(payload: object) -> str:
    text = payload if isinstance(payload, str) else repr(payload)
    return _text(text[:10_000]) or ""
