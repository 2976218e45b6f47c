"""Carrier tracking normalisers: one per format, one contract for every channel.

The API another component (ingestion, the webhook receiver, the CLI) calls:

- :data:`FORMATS` — format name → normaliser. Each normaliser is
  ``normalize(document, *, source_channel, source="<input>", carrier_code=None)`` and returns an
  iterator of :class:`CanonicalEvent` (one per tracking event) and :class:`NormalizeError`
  (one per record that could not be normalised, naming its JSON path and field); it raises
  :class:`DocumentError` when the document is not of that format at all.
- :func:`normalize` — the same, dispatched by format name.

The contract (fields, event identity) is :mod:`waybill.connectors.carriers.contract`; the one
time-zone rule is :mod:`waybill.connectors.carriers.timezones`; milestones come from the one
mapping, ``dbt_project/seeds/milestone_codes.csv`` (read by :mod:`waybill.milestones`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from waybill.connectors.carriers import aftership, dcsa, dhl, easypost, fedex, shippo, ups, usps
from waybill.connectors.carriers.contract import (
    SOURCE_CHANNELS,
    CanonicalEvent,
    DocumentError,
    Location,
    NormalizeError,
)
from waybill.connectors.carriers.events import NormalizeResult

Normalizer = Callable[..., Iterator[CanonicalEvent | NormalizeError]]

FORMATS: dict[str, Normalizer] = {
    "ups": ups.normalize,
    "fedex": fedex.normalize,
    "dcsa": dcsa.normalize,
    "easypost": easypost.normalize,
    "usps": usps.normalize,
    "dhl": dhl.normalize,
    "shippo": shippo.normalize,
    "aftership": aftership.normalize,
}
"""Format name → normaliser; the names ``waybill carriers normalize --format`` accepts.

``ups``: UPS Track API v1 · ``fedex``: FedEx Track API · ``dcsa``: DCSA Track & Trace 2.2,
3.0.0-Beta-1 and 3.0.0 · ``easypost``: EasyPost trackers and ``tracker.*`` webhooks ·
``usps``: USPS Tracking API v3 · ``dhl``: DHL Shipment Tracking – Unified API ·
``shippo``: Shippo tracks and ``track_updated`` webhooks · ``aftership``: AfterShip trackings
and ``tracking_update`` webhooks.
"""


def normalize(
    doc: Any,
    fmt: str,
    *,
    source_channel: str,
    source: str = "<input>",
    carrier_code: str | None = None,
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Normalise one parsed document of format ``fmt`` (a key of :data:`FORMATS`).

    Yields events and errors in input order (see the per-format modules); ``source_channel``
    (``api``, ``webhook``, …) is stamped on every event. Raises ``ValueError`` for an unknown
    ``fmt`` or an empty ``source_channel``; the iterator raises :class:`DocumentError` when
    ``doc`` is not of the format.
    """
    try:
        normalizer = FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown carrier format {fmt!r}; expected one of {sorted(FORMATS)}"
        ) from None
    if not source_channel:
        raise ValueError("source_channel is required (e.g. 'api', 'webhook')")
    return normalizer(doc, source_channel=source_channel, source=source, carrier_code=carrier_code)


def normalize_result(
    doc: Any,
    fmt: str,
    *,
    source_channel: str = "api",
    source: str = "<input>",
    carrier_code: str | None = None,
) -> NormalizeResult:
    """Like :func:`normalize`, collected into a :class:`NormalizeResult` (events, errors).

    ``source_channel`` defaults to ``api`` here (tests, one-off reads); ingestion and the webhook
    receiver call :func:`normalize` or a :data:`FORMATS` entry, which require it.
    """
    return NormalizeResult.collect(
        normalize(doc, fmt, source_channel=source_channel, source=source, carrier_code=carrier_code)
    )


__all__ = [
    "FORMATS",
    "SOURCE_CHANNELS",
    "CanonicalEvent",
    "DocumentError",
    "Location",
    "NormalizeError",
    "NormalizeResult",
    "normalize",
    "normalize_result",
]
