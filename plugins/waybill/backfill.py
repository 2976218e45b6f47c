"""Re-ingest a closed interval of one source entity: ``waybill backfill`` and the ``backfill_source`` DAG.

An interval backfill asks the source again for the records updated in ``[start, end]`` (whole UTC
days, both included) and lands them through the same loader as a scheduled run. It is idempotent
by construction: the loader deduplicates on (natural key, payload hash), so a record already in
raw is counted as a duplicate and lands no second row; only a record raw lacks (lost, or changed
since) lands. The entity's watermark is left alone: a backfill neither advances nor rewinds what
the next scheduled run reads. Billing is not touched; the invoices of a rebuilt shipment keep
their idempotency keys, so the ERP bills nothing twice.

Supported: REST entities with an ``updated_since`` watermark (the source filters by the lower
bound; the upper bound is applied to each record's ``incremental.field``). Other kinds raise
:class:`BackfillUnsupported` naming why (file drops re-ingest by putting the files back in the
inbound folder; page-token and offset feeds have no time to ask by).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from waybill import warehouse
from waybill.load.records import Record

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from waybill.connectors.rest import Page
    from waybill.load.records import DeadLetter
    from waybill.sources import EntityConfig

log = logging.getLogger(__name__)


class BackfillUnsupported(ValueError):
    """The entity cannot be backfilled by interval; the message says why and what to do instead."""


def interval_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The half-open UTC instants ``[start 00:00, end + 1 day 00:00)`` of the closed day interval.

    Raises ``ValueError`` when ``end`` is before ``start``.
    """
    if end < start:
        raise ValueError(f"backfill interval ends ({end}) before it starts ({start})")
    lower = datetime.combine(start, time(0), tzinfo=UTC)
    return lower, datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC)


def backfill_entity(
    source_name: str, entity_name: str, start: date, end: date, *, run_id: str | None = None
) -> dict:
    """Re-ingest the records of ``source_name``/``entity_name`` updated in ``[start, end]``.

    Reads the source over HTTP (its Airflow connection), writes ``raw.<source>__<entity>``
    (new or changed records only), ``ops.load_batches`` and ``ops.dead_letters``; never
    ``ops.watermarks``. Returns the summed counts (read, landed, duplicate, dead_lettered,
    batches) with the interval. Raises :class:`BackfillUnsupported` for an entity without an
    ``updated_since`` watermark, ``ValueError`` for an empty interval, and the connector's
    errors after committing every batch that completed (a rerun lands only what is missing).
    """
    from waybill.connectors.rest import iter_pages
    from waybill.ingest import PAGES_PER_BATCH, _add, _zero, client_for, events_for
    from waybill.load.copy import chunked, load_batch
    from waybill.sources import get_source

    source = get_source(source_name)
    entity = source.entity(entity_name)
    field = _interval_field(source_name, entity)
    lower, upper = interval_bounds(start, end)
    totals = _zero()
    events = events_for(source, entity)
    pages = iter_pages(
        client_for(source),
        entity,
        page_size=entity.page_size or source.page_size,
        since=lower.isoformat(),
    )
    with warehouse.connect(role="loader") as conn:
        for chunk in chunked(pages, PAGES_PER_BATCH):
            result = load_batch(
                conn,
                source.name,
                entity.name,
                _within(_items(chunk), field, lower, upper),
                extracted_at=datetime.now(UTC),
                run_id=run_id,
                events=events,
            )
            _add(totals, result)
    log.info("%s/%s backfill %s..%s: %s", source.name, entity.name, start, end, totals)
    return {
        **totals,
        "source": source.name,
        "entity": entity.name,
        "from": start.isoformat(),
        "to": end.isoformat(),
    }


def _interval_field(source_name: str, entity: EntityConfig) -> str:
    incremental = entity.incremental
    if entity.kind != "rest" or incremental is None or incremental.kind != "updated_since":
        how = (
            "put its files back in the inbound folder (files already landed are skipped by hash)"
            if entity.kind.endswith("_files")
            else "a scheduled run re-reads it from its watermark"
        )
        raise BackfillUnsupported(
            f"{source_name}/{entity.name} ({entity.kind}) has no updated_since watermark to ask"
            f" an interval by; {how}"
        )
    if not incremental.field:
        raise BackfillUnsupported(f"{source_name}/{entity.name}: incremental.field is not set")
    return incremental.field


def _items(chunk: list[Page]) -> Iterator[Record | DeadLetter]:
    for page in chunk:
        yield from page.items


def _within(
    items: Iterable[Record | DeadLetter], field: str, lower: datetime, upper: datetime
) -> Iterator[Record | DeadLetter]:
    """Keep the records whose ``field`` falls in ``[lower, upper)``, and every dead letter (the
    loader records each dead letter once by content, so re-reading one adds nothing)."""
    for item in items:
        if not isinstance(item, Record):
            yield item
            continue
        moment = _instant(item.payload, field)
        if moment is None or lower <= moment < upper:
            # A record without a readable time is landed: the loader dedups it if it is known.
            yield item


def _instant(payload: object, field: str) -> datetime | None:
    if not isinstance(payload, dict):
        return None
    value = payload.get(field)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rebuild_downstream(source_name: str, entity_name: str) -> int:
    """Run ``dbt build --select source:<source>.<entity>+`` (every model and test reading the
    entity, incrementally); return dbt's exit status. dbt's output goes to this process's."""
    import os
    import subprocess

    from waybill import roles
    from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

    roles.ensure_migrated(role="transformer")
    env = {**os.environ, **warehouse.dbt_env(), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    selector = f"source:{source_name}.{entity_name}+"
    return subprocess.call(
        [str(DBT_EXECUTABLE), "build", "--select", selector], cwd=DBT_PROJECT_DIR, env=env
    )
