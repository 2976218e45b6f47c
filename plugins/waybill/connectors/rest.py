"""Paginated JSON REST extraction: pages in, :class:`Record`/:class:`DeadLetter` out, streamed.

Four pagination kinds, chosen per entity in ``sources.yaml``: ``cursor`` (ERP: ``next_cursor``),
``page_token`` (WMS and carrier feeds: ``nextPageToken``, absent on the last page), ``offset``
(TMS: ``offset``/``limit`` against ``total``) and ``none`` (one request).

Each item is checked for the one thing the loader needs — an object with its natural key —
and anything else becomes a dead letter naming the request, the item's position and the field.
Typing and business validation happen downstream in dbt, on the payload kept whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from waybill.connectors.keys import key_hint, natural_key
from waybill.load.records import DeadLetter, Record

if TYPE_CHECKING:
    from collections.abc import Iterator

    from waybill.connectors.http import HttpClient
    from waybill.sources import EntityConfig


class PageError(RuntimeError):
    """A page could not be read as the configured shape (not JSON, items field missing)."""


@dataclass
class Page:
    """One page of an entity: its items, the highest incremental value seen, and how it was asked for.

    ``position`` is the cursor/page token/offset that fetched this page (None for the first),
    which a ``page_token``/``offset`` watermark stores to resume at this page next time.
    """

    number: int
    items: list[Record | DeadLetter]
    max_updated: str | None
    position: str | None = None


def since_param(watermark: str | None, overlap_minutes: int) -> str | None:
    """Return the ``updated_since`` value to request: the watermark minus the overlap window."""
    if not watermark:
        return None
    try:
        moment = datetime.fromisoformat(watermark.replace("Z", "+00:00"))
    except ValueError:
        return watermark
    return (moment - timedelta(minutes=overlap_minutes)).isoformat()


def iter_pages(
    client: HttpClient,
    entity: EntityConfig,
    *,
    page_size: int,
    since: str | None = None,
    resume_at: str | None = None,
) -> Iterator[Page]:
    """Yield every page of ``entity`` from ``client``, following the configured pagination.

    ``since`` is sent as the incremental parameter (``updated_since`` kinds); ``resume_at`` is a
    stored page token or offset to start from (``page_token``/``offset`` kinds).
    Raises :class:`PageError` when a page is not the configured shape even after retries,
    and ``requests.HTTPError`` for a non-retryable HTTP status.
    """
    kind = entity.pagination
    params: dict[str, Any] = {}
    if kind != "none":
        params[entity.limit_param] = page_size
    incremental = entity.incremental
    if since and incremental and incremental.kind == "updated_since" and incremental.param:
        params[incremental.param] = since
    position: str | None = resume_at or None
    number = 0
    while True:
        number += 1
        request_params = dict(params)
        if kind in ("cursor", "page_token") and position:
            request_params[entity.cursor_param] = position
        elif kind == "offset":
            request_params[entity.offset_param] = int(position or 0)
        where = f"{client.source} GET {entity.path} page {number}"
        if position:
            where += f" ({kind} {position[:40]})"
        body = _get_page(client, entity, request_params, where)
        items = body.get(entity.items_field)
        if not isinstance(items, list):
            raise PageError(f"{where}: field {entity.items_field!r} is missing or not a list")
        yield _page(number, items, entity, where, position)
        position = _next_position(kind, body, entity, position, len(items), page_size, where)
        if position is None or not items:
            return


def _next_position(
    kind: str,
    body: dict[str, Any],
    entity: EntityConfig,
    position: str | None,
    count: int,
    page_size: int,
    where: str,
) -> str | None:
    if kind == "none":
        return None
    if kind == "offset":
        total = body.get(entity.total_field)
        if not isinstance(total, int):
            raise PageError(f"{where}: field {entity.total_field!r} is missing or not a number")
        # A server may cap the page size: step by what it says it used.
        served = body.get(entity.limit_param)
        step = served if isinstance(served, int) and served > 0 else page_size
        following = int(position or 0) + step
        return str(following) if following < total else None
    value = body.get(entity.next_field)
    return str(value) if value else None


def _get_page(
    client: HttpClient, entity: EntityConfig, params: dict[str, Any], where: str
) -> dict[str, Any]:
    """GET one page; a body that is not a JSON object is retried once, then raised as :class:`PageError`."""
    for attempt in (1, 2):
        try:
            body = client.get_json(entity.path, params=params)
        except json.JSONDecodeError as exc:
            if attempt == 2:
                raise PageError(f"{where}: response is not JSON ({exc})") from None
            continue
        if isinstance(body, dict):
            return body
        if attempt == 2:
            raise PageError(f"{where}: response is {type(body).__name__}, not a JSON object")
    raise AssertionError("unreachable")


def records_from_items(
    items: list[Any], entity: EntityConfig, where: str
) -> tuple[list[Record | DeadLetter], str | None]:
    """Turn decoded items into Records (object with a natural key) or DeadLetters; also return
    the highest ``incremental.field`` value seen (``updated_since`` kinds)."""
    records: list[Record | DeadLetter] = []
    max_updated: str | None = None
    incremental = entity.incremental
    updated_field = (
        incremental.field if incremental and incremental.kind == "updated_since" else None
    )
    for index, item in enumerate(items):
        location = f"{where} item {index}"
        if not isinstance(item, dict):
            raw = item if isinstance(item, str) else _raw(item)
            hint = key_hint(raw, entity.natural_key) if isinstance(item, str) else None
            if hint:
                location += f" ({entity.natural_key[0]}={hint})"
            reason = (
                "item is a string, not a JSON object (malformed or truncated record)"
                if isinstance(item, str)
                else f"item is {type(item).__name__}, not a JSON object"
            )
            records.append(DeadLetter(location, reason, None, raw[:10_000]))
            continue
        key, missing = natural_key(item, entity.natural_key)
        if key is None:
            records.append(
                DeadLetter(
                    location,
                    f"natural key field {missing!r} is missing, empty or not a string/number",
                    missing,
                    _raw(item),
                )
            )
            continue
        if updated_field:
            updated = item.get(updated_field)
            if isinstance(updated, str) and (max_updated is None or _after(updated, max_updated)):
                max_updated = updated
        records.append(Record(key, item, location))
    return records, max_updated


def _page(
    number: int, items: list[Any], entity: EntityConfig, where: str, position: str | None
) -> Page:
    records, max_updated = records_from_items(items, entity, where)
    return Page(number, records, max_updated, position)


def _after(candidate: str, current: str) -> bool:
    try:
        return datetime.fromisoformat(candidate.replace("Z", "+00:00")) > datetime.fromisoformat(
            current.replace("Z", "+00:00")
        )
    except ValueError:
        return candidate > current


def _raw(item: Any) -> str:
    try:
        return json.dumps(item, ensure_ascii=False)[:10_000]
    except (TypeError, ValueError):
        return repr(item)[:10_000]
