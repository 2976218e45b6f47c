"""Ingest one entity of one source into ``raw``: the body of every ingestion task.

Reads the watermark, pulls pages since it (minus the overlap window), and lands them in
batches; each batch commits its records, dead letters, counts and the advanced watermark
together. A crash between batches resumes from the last committed watermark.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from waybill import warehouse
from waybill.connections import get_endpoint
from waybill.connectors.http import HttpClient, RateLimiter
from waybill.connectors.rest import Page, iter_pages, since_param
from waybill.load.copy import current_watermark, load_batch
from waybill.load.schema import ensure_ops_schema
from waybill.sources import get_source

if TYPE_CHECKING:
    from collections.abc import Iterator

    from waybill.load.records import DeadLetter, Record

log = logging.getLogger(__name__)

PAGES_PER_BATCH = 20


def ingest_entity(source_name: str, entity_name: str, *, run_id: str | None = None) -> dict:
    """Pull ``source_name``/``entity_name`` since its watermark and land it in ``raw``.

    Returns the summed counts (read, landed, duplicate, dead_lettered, batches, watermark).
    Raises the connector's error (``SourceUnavailable``, ``PageError``, ``HTTPError``) after
    committing every batch that completed, so a rerun resumes where this one stopped.
    """
    source = get_source(source_name)
    entity = source.entity(entity_name)
    endpoint = get_endpoint(source.connection_id)
    client = HttpClient(
        source=source_name,
        base_url=endpoint.base_url,
        headers=endpoint.auth_headers(),
        timeout_s=source.timeout_s,
        rate_limiter=RateLimiter(source.rate_limit_per_s) if source.rate_limit_per_s else None,
    )
    totals = {"read": 0, "landed": 0, "duplicate": 0, "dead_lettered": 0, "batches": 0}
    with warehouse.connect() as conn:
        ensure_ops_schema(conn)
        watermark = current_watermark(conn, source_name, entity_name)
        overlap = entity.incremental.overlap_minutes if entity.incremental else 0
        since = since_param(watermark, overlap)
        log.info(
            "%s/%s: pulling since %s (watermark %s)", source_name, entity_name, since, watermark
        )
        pages = iter_pages(client, entity, page_size=source.page_size, since=since)
        for chunk in _chunks(pages, PAGES_PER_BATCH):
            watermark = _max_watermark(watermark, chunk)
            result = load_batch(
                conn,
                source_name,
                entity_name,
                _items(chunk),
                extracted_at=datetime.now(UTC),
                watermark=watermark,
                run_id=run_id,
            )
            totals["batches"] += 1
            for key in ("read", "landed", "duplicate", "dead_lettered"):
                totals[key] += getattr(result, key)
    log.info("%s/%s: %s", source_name, entity_name, totals)
    return {**totals, "source": source_name, "entity": entity_name, "watermark": watermark}


def _chunks(pages: Iterator[Page], size: int) -> Iterator[list[Page]]:
    chunk: list[Page] = []
    for page in pages:
        chunk.append(page)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _items(chunk: list[Page]) -> Iterator[Record | DeadLetter]:
    for page in chunk:
        yield from page.items


def _max_watermark(current: str | None, chunk: list[Page]) -> str | None:
    candidates = [p.max_updated for p in chunk if p.max_updated]
    if current:
        candidates.append(current)
    if not candidates:
        return None
    return max(candidates, key=lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")))
