"""Carrier tracking normalisers: UPS, FedEx, DCSA and EasyPost JSON → canonical tracking events.

``normalize(doc, fmt, source=...)`` dispatches to ``<fmt>.normalize``; each yields a
:class:`~waybill.connectors.carriers.events.CarrierEvent` or a
:class:`~waybill.connectors.carriers.events.NormalizeError` per tracking event in the document.
Milestones come from the one mapping, ``dbt_project/seeds/milestone_codes.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from waybill.connectors.carriers import dcsa, easypost, fedex, ups
from waybill.connectors.carriers.events import (
    CarrierEvent,
    Location,
    NormalizeError,
    NormalizeResult,
)

Normalizer = Callable[..., Iterator[CarrierEvent | NormalizeError]]

FORMATS: dict[str, Normalizer] = {
    "ups": ups.normalize,
    "fedex": fedex.normalize,
    "dcsa": dcsa.normalize,
    "easypost": easypost.normalize,
}
"""Format name → normaliser; the names ``waybill carriers normalize --format`` accepts."""


def normalize(
    doc: Any, fmt: str, *, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CarrierEvent | NormalizeError]:
    """Normalise one parsed document of format ``fmt`` (a key of :data:`FORMATS`).

    Yields events and errors in input order (see the per-format modules). Raises
    ``ValueError`` for an unknown ``fmt``; never raises for bad document content.
    """
    try:
        normalizer = FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown carrier format {fmt!r}; expected one of {sorted(FORMATS)}"
        ) from None
    return normalizer(doc, source=source, carrier_code=carrier_code)


def normalize_result(
    doc: Any, fmt: str, *, source: str = "<input>", carrier_code: str | None = None
) -> NormalizeResult:
    """Like :func:`normalize`, collected into a :class:`NormalizeResult` (events, errors)."""
    return NormalizeResult.collect(normalize(doc, fmt, source=source, carrier_code=carrier_code))


__all__ = [
    "FORMATS",
    "CarrierEvent",
    "Location",
    "NormalizeError",
    "NormalizeResult",
    "normalize",
    "normalize_result",
]
