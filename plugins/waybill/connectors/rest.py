"""Paginated JSON REST extraction: pages in, :class:`Record`/:class:`DeadLetter` out, streamed.

Each item is checked for the one thing the loader needs — an object with its natural key —
and anything else becomes a dead letter naming the request, the item's position and the field.
Typing and business validation happen downstream in dbt, on the payload kept whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from waybill.load.records import DeadLetter, Record

if TYPE_CHECKING:
    from collections.abc import Iterator

    from waybill.connectors.http import HttpClient
    from waybill.sources import EntityConfig


class PageError(RuntimeError):
    """A page could not be read as the configured shape (not JSON, items field missing)."""


@dataclass
class Page:
    """One page of an entity: its items as Records/DeadLetters and the highest incremental value seen."""

    number: int
    items: list[Record | DeadLetter]
    max_updated: str | None


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
) -> Iterator[Page]:
    """Yield every page of ``entity`` from ``client``, following the configured pagination.

    Raises :class:`PageError` when a page is not the configured shape even after retries,
    and ``requests.HTTPError`` for a non-retryable HTTP status.
    """
    if entity.pagination != "cursor":
        raise PageError(f"{client.source}/{entity.name}: pagination {entity.pagination!r} unknown")
    params: dict[str, Any] = {entity.limit_param: page_size}
    if since and entity.incremental:
        params[entity.incremental.param] = since
    cursor: str | None = None
    number = 0
    while True:
        number += 1
        request_params = dict(params)
        if cursor:
            request_params[entity.cursor_param] = cursor
        where = f"{client.source} GET {entity.path} page {number}"
        body = _get_page(client, entity, request_params, where)
        items = body.get(entity.items_field)
        if not isinstance(items, list):
            raise PageError(f"{where}: field {entity.items_field!r} is missing or not a list")
        yield _page(number, items, entity, where)
        cursor = body.get(entity.next_field)
        if not cursor or not items:
            return


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


def _page(number: int, items: list[Any], entity: EntityConfig, where: str) -> Page:
    records: list[Record | DeadLetter] = []
    max_updated: str | None = None
    updated_field = entity.incremental.field if entity.incremental else None
    for index, item in enumerate(items):
        location = f"{where} item {index}"
        if not isinstance(item, dict):
            records.append(
                DeadLetter(
                    location, f"item is {type(item).__name__}, not an object", None, _raw(item)
                )
            )
            continue
        key = item.get(entity.natural_key)
        if not isinstance(key, str | int) or isinstance(key, bool) or key == "":
            records.append(
                DeadLetter(
                    location,
                    f"natural key {entity.natural_key!r} is missing or not a string/number",
                    entity.natural_key,
                    _raw(item),
                )
            )
            continue
        if updated_field:
            updated = item.get(updated_field)
            if isinstance(updated, str) and (max_updated is None or _after(updated, max_updated)):
                max_updated = updated
        records.append(Record(str(key), item, location))
    return Page(number, records, max_updated)


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
