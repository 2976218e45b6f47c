"""USPS Tracking API v3 responses → canonical tracking events.

Reads ``GET /tracking/v3/tracking/{trackingNumber}?expand=DETAIL`` (one object) or a list of
such objects (the multi-package endpoints). Each ``trackingEvents[]`` entry is an actual event
coded by its two-character ``eventCode`` (else its ``eventType`` text, which then comes out
``unmapped``). Time: ``GMTTimestamp`` is the explicit instant, ``GMTOffset`` shifts the local
``eventTimestamp``; with neither, the time-zone rule resolves ``eventCity``/``eventState``.
An error envelope (``{"error": {"code", "message", "errors": [...]}}``) is one error per
``errors[]`` item (or one for the envelope), keeping USPS's code and message. Anything else
raises :class:`~waybill.connectors.carriers.contract.DocumentError`.
"""

from __future__ import annotations

from datetime import UTC, timezone
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
    carrier_errors,
    describe,
    parse_iso,
    parse_offset,
    records_of,
    require_object,
    walk_records,
)
from waybill.milestones import EXCEPTIONS, lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "usps"


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per USPS tracking event (or error item) in ``doc``.

    ``source_channel`` is stamped on every event; ``source`` names the document in errors;
    ``carrier_code`` overrides the default ``usps``. Raises :class:`DocumentError` when ``doc``
    is not a USPS Tracking v3 response.
    """
    carrier = carrier_code or "usps"
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        envelope = Field(doc).obj("error")
        if envelope.value.get("errors"):
            yield from carrier_errors(envelope, "errors", source, "USPS")
        else:
            code, message = envelope.text("code"), envelope.text("message")
            yield NormalizeError(
                source,
                envelope.path,
                None,
                f"USPS error {code or '(no code)'}: {message or '(no message)'}",
                code,
                message,
            )
        return

    def package_events(package: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        tracking = package.text("trackingNumber", required=True)
        for node in list(package.items("trackingEvents", required=True)):
            try:
                yield _event(node, tracking, carrier, source_channel)
            except RecordError as exc:
                yield exc.to_error(source)

    yield from walk_records(doc, source, _packages, package_events)


def _is_package(value: Any) -> bool:
    return isinstance(value, dict) and "trackingNumber" in value and "trackingEvents" in value


def _packages(root: Field) -> list[Field]:
    if isinstance(root.value, list):
        return records_of(root, "a USPS Tracking v3 response", _is_package)
    if _is_package(root.value):
        return [root]
    raise DocumentError(
        "not a USPS Tracking v3 response: expected an object with 'trackingNumber' and"
        f" 'trackingEvents' (or an 'error' envelope), got {describe(root.value)}"
        + (f" with keys {sorted(root.value)[:6]}" if isinstance(root.value, dict) else "")
    )


def _event(node: Field, tracking: str, carrier: str, channel: str) -> CanonicalEvent:
    event = require_object(node)
    code = event.text("eventCode")
    description = event.text("eventType")
    candidates = [value for value in (code, description) if value]
    if not candidates:
        raise event.error("eventCode", "is missing (and so is eventType)")
    when = event.text("eventTimestamp")
    gmt = event.text("GMTTimestamp")
    if when is None and gmt is None:
        raise event.error("eventTimestamp", "is missing (and so is GMTTimestamp)")
    local, aware = parse_iso(when, event, "eventTimestamp") if when else (None, None)
    offset = event.text("GMTOffset")
    if aware is None and gmt is not None:
        gmt_local, gmt_aware = parse_iso(gmt, event, "GMTTimestamp")
        # GMTTimestamp is GMT by definition, whether or not it spells the Z.
        aware = gmt_aware or (gmt_local.replace(tzinfo=UTC) if gmt_local else None)
        if aware is not None and offset:
            aware = aware.astimezone(_offset(event, offset))
    elif aware is None and local is not None and offset:
        aware = local.replace(tzinfo=_offset(event, offset))
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    return make_event(
        carrier=carrier,
        tracking_number=tracking,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code=candidates[0],
        source_code=source_code,
        milestone=milestone,
        source_description=description,
        occurred_at_local=when or gmt,
        local_moment=local,
        aware_moment=aware,
        location=Location(
            city=event.text("eventCity"),
            state=event.text("eventState"),
            postal_code=event.text("eventZIP") or event.text("eventZIPCode"),
            country=event.text("eventCountry"),
        ),
        reason_code=code if milestone in EXCEPTIONS else None,
        path=event.path,
    )


def _offset(event: Field, text: str) -> timezone:
    try:
        return parse_offset(text)
    except ValueError as exc:
        raise event.error("GMTOffset", str(exc)) from None
