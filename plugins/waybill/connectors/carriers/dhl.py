"""DHL Shipment Tracking – Unified API responses → canonical tracking events.

Reads ``GET /track/shipments`` (``{"shipments": [...]}``): each ``shipments[].events[]`` entry is
an actual event coded by its unified ``statusCode`` (``pre-transit``, ``transit``,
``delivered``, ``failure``, ``unknown``); ``description``/``status`` describe it. When a shipment
has no ``events`` its ``status`` object is its only event. ``timestamp`` is ISO-8601, with or
without an offset (DHL sends the local time of the facility for some services): the time-zone
rule resolves the rest from ``location.address`` (``addressLocality``, ``countryCode``).
A problem-details error (``{"status": 404, "title": ..., "detail": ...}``) is one error keeping
DHL's status and title; anything else raises
:class:`~waybill.connectors.carriers.contract.DocumentError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.carriers.contract import (
    CanonicalEvent,
    DocumentError,
    Location,
    NormalizeError,
    make_event,
)
from waybill.connectors.carriers.events import (
    Field,
    RecordError,
    describe,
    parse_iso,
    require_object,
    walk_records,
)
from waybill.milestones import lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "dhl"


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per DHL shipment event in ``doc``.

    ``source_channel`` is stamped on every event; ``source`` names the document in errors;
    ``carrier_code`` overrides the default ``dhl``. Raises :class:`DocumentError` when ``doc``
    is not a DHL Unified tracking response.
    """
    carrier = carrier_code or "dhl"
    if not isinstance(doc, dict):
        raise DocumentError(
            f"not a DHL Shipment Tracking response: the document is {describe(doc)}"
        )
    if "shipments" not in doc:
        if "title" in doc and "status" in doc:
            status, title = doc.get("status"), doc.get("title")
            detail = doc.get("detail")
            message = f"{title}" + (f" ({detail})" if detail else "")
            yield NormalizeError(
                source, "$", None, f"DHL error {status}: {message}", str(status), message
            )
            return
        raise DocumentError(
            "not a DHL Shipment Tracking response: no 'shipments' and no problem-details error"
        )

    def shipment_events(shipment: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        tracking = shipment.text("id", required=True)
        nodes = list(shipment.items("events"))
        if not nodes and shipment.child("status").value is not None:
            nodes = [shipment.obj("status")]
        for node in nodes:
            try:
                yield _event(node, tracking, carrier, source_channel)
            except RecordError as exc:
                yield exc.to_error(source)

    yield from walk_records(
        doc, source, lambda root: root.items("shipments", required=True), shipment_events
    )


def _event(node: Field, tracking: str, carrier: str, channel: str) -> CanonicalEvent:
    event = require_object(node)
    code = event.text("statusCode", required=True)
    when = event.text("timestamp", required=True)
    local, aware = parse_iso(when, event, "timestamp")
    source_code, milestone = lookup(SOURCE_STANDARD, [code])
    address = event.obj("location").obj("address")
    location = Location()
    if address.value is not None:
        location = Location(
            city=address.text("addressLocality"),
            postal_code=address.text("postalCode"),
            country=address.text("countryCode"),
        )
    return make_event(
        carrier=carrier,
        tracking_number=tracking,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        # DHL's unified code is coarse: the carrier's own status text tells two scans apart.
        event_code=":".join(part for part in (code, event.text("status")) if part),
        source_code=source_code,
        milestone=milestone,
        source_description=event.text("description") or event.text("status"),
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        location=location,
        reason_description=event.text("remark") if code == "failure" else None,
        is_exception=code == "failure",
        path=event.path,
    )
