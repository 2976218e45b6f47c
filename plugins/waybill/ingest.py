"""Ingest one entity of one source into ``raw``: the body of every ingestion task.

REST entities: read the watermark, pull pages from it (an ``updated_since`` minus the overlap
window, or the stored page token / offset), and land them in batches; each batch commits its
records, dead letters, counts and the advanced watermark together, so a crash between batches
resumes from the last committed watermark.

File entities (X12, CSV): optionally fetch new files into the inbound folder, then land each
file as one batch, recording it in ``ops.ingested_files`` in the same transaction; write the 997
(X12) to the partner's outbound folder; move the file to ``archive/`` or ``rejected/``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from waybill import warehouse
from waybill.connections import get_endpoint
from waybill.connectors.http import HttpClient, RateLimiter
from waybill.connectors.rest import Page, iter_pages, since_param
from waybill.load.copy import chunked, current_watermark, load_batch
from waybill.load.schema import ensure_raw_table
from waybill.sources import get_source

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import psycopg

    from waybill.load.copy import BatchResult, EventDeriver
    from waybill.load.records import DeadLetter, Record
    from waybill.sources import EntityConfig, SourceConfig

log = logging.getLogger(__name__)

PAGES_PER_BATCH = 20
COUNTS = ("read", "landed", "duplicate", "dead_lettered", "events_landed", "events_dead_lettered")


def ingest_entity(source_name: str, entity_name: str, *, run_id: str | None = None) -> dict:
    """Pull ``source_name``/``entity_name`` and land it in ``raw.<source>__<entity>``.

    Returns the summed counts (read, landed, duplicate, dead_lettered, batches, watermark; files
    for file sources). Raises the connector's error (``SourceUnavailable``, ``PageError``,
    ``HTTPError``, ``MissingConnection``) after committing every batch that completed, so a
    rerun resumes where this one stopped.
    """
    source = get_source(source_name)
    entity = source.entity(entity_name)
    if entity.kind == "rest":
        return _ingest_rest(source, entity, run_id)
    if entity.kind == "tracking_lookup":
        return _ingest_lookup(source, entity, run_id)
    if entity.kind == "webhook_events":
        return _ingest_pushed(source, entity, run_id)
    return _ingest_files(source, entity, run_id)


def events_for(source: SourceConfig, entity: EntityConfig) -> EventDeriver | None:
    """The loader's canonical-event deriver for an entity with an ``events`` block, else None.

    Raises :class:`~waybill.connectors.carrier_records.EventsConfigError` for a bad block.
    """
    from waybill.connectors.carrier_records import EventsSpec, event_deriver
    from waybill.load.schema import raw_table_name

    where = f"source {source.name!r}, entity {entity.name!r}"
    spec = EventsSpec.from_options(where, entity.options, entity.kind)
    if spec is None:
        return None
    return event_deriver(spec, source.name, raw_table_name(source.name, entity.name))


def client_for(source: SourceConfig) -> HttpClient:
    """An :class:`HttpClient` for ``source`` from its Airflow connection and limits.

    The one HTTP client factory: ingestion and billing (``billing.run.erp_client``) both call
    it. Raises ``ValueError`` when the source names no connection, and
    :class:`~waybill.connections.MissingConnection` when the connection is not defined.
    """
    if not source.connection_id:
        raise ValueError(f"source {source.name!r} has no connection_id")
    endpoint = get_endpoint(source.connection_id)
    return HttpClient(
        source=source.name,
        base_url=endpoint.base_url,
        headers=endpoint.auth_headers(),
        timeout_s=source.timeout_s,
        rate_limiter=RateLimiter(source.rate_limit_per_s) if source.rate_limit_per_s else None,
    )


def _ingest_rest(source: SourceConfig, entity: EntityConfig, run_id: str | None) -> dict:
    client = client_for(source)
    totals = _zero()
    events = events_for(source, entity)
    incremental = entity.incremental
    with warehouse.connect(role="loader") as conn:
        watermark = current_watermark(conn, source.name, entity.name)
        conn.commit()  # each batch below is its own transaction
        since = resume_at = None
        if incremental and incremental.kind == "updated_since":
            since = since_param(watermark, incremental.overlap_minutes)
        elif incremental:
            resume_at = watermark
        log.info(
            "%s/%s: pulling (watermark %r, since %r)", source.name, entity.name, watermark, since
        )
        pages = iter_pages(
            client,
            entity,
            page_size=entity.page_size or source.page_size,
            since=since,
            resume_at=resume_at,
        )
        for chunk in chunked(pages, PAGES_PER_BATCH):
            watermark = _advance(watermark, chunk, entity)
            result = load_batch(
                conn,
                source.name,
                entity.name,
                _items(chunk),
                extracted_at=datetime.now(UTC),
                watermark=watermark,
                run_id=run_id,
                events=events,
            )
            _add(totals, result)
    log.info("%s/%s: %s", source.name, entity.name, totals)
    return {**totals, "source": source.name, "entity": entity.name, "watermark": watermark}


LOOKUP_NUMBERS_PER_BATCH = 500


def _ingest_lookup(source: SourceConfig, entity: EntityConfig, run_id: str | None) -> dict:
    """Ask the Track API about every tracking number still without a POD; land the answers."""
    from waybill.connectors.tracking_lookup import iter_detail_records, pending_numbers

    client = client_for(source)
    totals = _zero()
    events = events_for(source, entity)
    with warehouse.connect(role="loader") as conn:
        numbers = pending_numbers(conn, source.name, entity)
        conn.commit()
        log.info("%s/%s: %d tracking numbers to look up", source.name, entity.name, len(numbers))
        for start in range(0, len(numbers), LOOKUP_NUMBERS_PER_BATCH):
            batch = numbers[start : start + LOOKUP_NUMBERS_PER_BATCH]
            result = load_batch(
                conn,
                source.name,
                entity.name,
                iter_detail_records(client, entity, batch),
                extracted_at=datetime.now(UTC),
                run_id=run_id,
                events=events,
            )
            _add(totals, result)
    log.info("%s/%s: %s", source.name, entity.name, totals)
    return {**totals, "source": source.name, "entity": entity.name, "looked_up": len(numbers)}


def _ingest_files(source: SourceConfig, entity: EntityConfig, run_id: str | None) -> dict:
    from waybill.connectors.inbound import (
        entity_folder,
        is_file_failure,
        pending_files,
        reject_failed_file,
    )

    folder = entity_folder(source, entity)
    fetch_error: Exception | None = None
    if entity.fetch is not None:
        from waybill.connectors.x12_files import fetch_new_files

        try:
            fetched = fetch_new_files(client_for(source), entity, folder)
            log.info("%s/%s: fetched %d new files", source.name, entity.name, len(fetched))
        except Exception as exc:  # land what is already here, then fail the task
            fetch_error = exc
            log.error("%s/%s: fetching files failed: %s", source.name, entity.name, exc)
    totals = _zero()
    files: dict[str, str] = {}
    with warehouse.connect(role="loader") as conn:
        # The raw table exists from the first run, files or not: staging reads it either way.
        ensure_raw_table(conn, source.name, entity.name)
        for path in pending_files(folder, entity.pattern):
            try:
                status, result = _ingest_file(conn, source, entity, path, run_id)
            except Exception as exc:
                # One bad file must not block the files after it (nor itself, forever).
                if not is_file_failure(conn, exc):
                    raise
                moved, result = reject_failed_file(
                    conn, source.name, entity.name, path, exc, run_id
                )
                log.error(
                    "%s/%s: %s rejected to %s: %s", source.name, entity.name, path, moved, exc
                )
                status = "rejected"
            files[path.name] = status
            if result is not None:
                _add(totals, result)
    log.info("%s/%s: %s, files %s", source.name, entity.name, totals, files)
    if fetch_error is not None:
        raise fetch_error
    return {**totals, "source": source.name, "entity": entity.name, "files": files}


def _ingest_file(
    conn: psycopg.Connection,
    source: SourceConfig,
    entity: EntityConfig,
    path: Path,
    run_id: str | None,
) -> tuple[str, BatchResult | None]:
    """Land one file as one batch; return its status (archived/rejected) and the batch counts."""
    from waybill.connectors.inbound import move_out, sha256_of

    sha = sha256_of(path)
    known = conn.execute(
        "select status from ops.ingested_files"
        " where source = %s and entity = %s and file_name = %s and sha256 = %s",
        (source.name, entity.name, path.name, sha),
    ).fetchone()
    conn.commit()
    if known:  # landed before a crash kept it from moving: just move it now
        move_out(path, known[0])
        return known[0], None
    items, sound = _file_items(source, entity, path)
    status = "rejected"

    def register(cur: psycopg.Cursor, result: BatchResult) -> None:
        nonlocal status
        status = "archived" if sound() and result.dead_lettered == 0 else "rejected"
        cur.execute(
            "insert into ops.ingested_files"
            " (source, entity, file_name, sha256, status, batch_id, records, dead_letters)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
            (
                source.name,
                entity.name,
                path.name,
                sha,
                status,
                result.batch_id,
                result.read,
                result.dead_lettered,
            ),
        )

    result = load_batch(
        conn,
        source.name,
        entity.name,
        items,
        extracted_at=datetime.now(UTC),
        run_id=run_id,
        before_commit=register,
        events=events_for(source, entity),
    )
    moved = move_out(path, status)
    log.info("%s/%s: %s -> %s (%s)", source.name, entity.name, path.name, moved, result.as_dict())
    return status, result


def _file_items(
    source: SourceConfig, entity: EntityConfig, path: Path
) -> tuple[Iterator[Record | DeadLetter], Any]:
    """The file's items, and a callable telling (after iteration) whether the file was sound."""
    if entity.kind == "csv_files":
        from waybill.connectors.csv_files import csv_items

        return csv_items(path, entity), lambda: True
    from waybill.connectors.inbound import source_folder
    from waybill.connectors.x12_files import x12_file_items

    try:
        outbound: Path | None = source_folder(source, "outbound")
    except ValueError as exc:
        log.error("%s: no 997 for %s: %s", source.name, path.name, exc)
        outbound = None
    # Streamed; the 997 goes out once the file is read, before the load commits (a rerun
    # rewrites the same name).
    return x12_file_items(path, entity, outbound)


# How far back each run re-reads pushed rows: covers a webhook transaction that committed after
# a later one (re-reading is harmless: events land once, dead letters once).
PUSHED_OVERLAP = timedelta(minutes=10)
PUSHED_PER_BATCH = 5_000


def _ingest_pushed(source: SourceConfig, entity: EntityConfig, run_id: str | None) -> dict:
    """Normalise the webhook pushes ``waybill webhooks serve`` stored in ``raw.<source>__<entity>``.

    Reads the rows landed since the watermark (their ``loaded_at``, less
    :data:`PUSHED_OVERLAP`) and lands their canonical events and dead letters; the watermark
    advances to the newest ``loaded_at`` read. A missing raw table (nothing pushed yet) is empty.
    """
    from psycopg import sql

    from waybill.load.copy import land_events
    from waybill.load.records import Record
    from waybill.load.schema import raw_table_name

    events = events_for(source, entity)
    if events is None:
        raise ValueError(f"{source.name}/{entity.name}: webhook_events needs an events block")
    table = raw_table_name(source.name, entity.name)
    totals = _zero()
    with warehouse.connect(role="loader") as conn:
        watermark = current_watermark(conn, source.name, entity.name)
        exists = conn.execute("select to_regclass(%s) is not null", (f"raw.{table}",)).fetchone()
        conn.commit()
        if not exists or not exists[0]:
            return {**totals, "source": source.name, "entity": entity.name, "watermark": None}
        since = (
            datetime.fromisoformat(watermark) - PUSHED_OVERLAP
            if watermark
            else datetime(1970, 1, 1, tzinfo=UTC)
        )
        query = sql.SQL(
            "select natural_key, payload_hash, payload, record_location, loaded_at, raw_id"
            " from {} where (loaded_at, raw_id) > (%s, %s) order by loaded_at, raw_id limit %s"
        ).format(sql.Identifier("raw", table))
        after: tuple[datetime, int] = (since, 0)
        while rows := conn.execute(query, (*after, PUSHED_PER_BATCH)).fetchall():
            conn.commit()
            after = (rows[-1][4], rows[-1][5])
            records = [
                (Record(key, payload, location or f"raw.{table} {key}"), digest)
                for key, digest, payload, location, _, _ in rows
            ]
            result = land_events(
                conn,
                source.name,
                entity.name,
                records,
                events,
                watermark=after[0].isoformat(),
                run_id=run_id,
            )
            watermark = result.watermark
            _add(totals, result)
        conn.commit()
    log.info("%s/%s: %s", source.name, entity.name, totals)
    return {**totals, "source": source.name, "entity": entity.name, "watermark": watermark}


def _zero() -> dict[str, int]:
    return {**dict.fromkeys(COUNTS, 0), "batches": 0}


def _add(totals: dict[str, int], result: BatchResult) -> None:
    totals["batches"] += 1
    for key in COUNTS:
        totals[key] += getattr(result, key)


def _items(chunk: list[Page]) -> Iterator[Record | DeadLetter]:
    for page in chunk:
        yield from page.items


def _advance(current: str | None, chunk: list[Page], entity: EntityConfig) -> str | None:
    """The watermark after landing ``chunk``, by the entity's incremental kind."""
    incremental = entity.incremental
    if incremental is None:
        return None
    if incremental.kind in ("page_token", "offset"):
        positions = [p.position for p in chunk if p.position]
        return positions[-1] if positions else current
    candidates = [p.max_updated for p in chunk if p.max_updated]
    if current:
        candidates.append(current)
    if not candidates:
        return None
    return max(candidates, key=lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")))
