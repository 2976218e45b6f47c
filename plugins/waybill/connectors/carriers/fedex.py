"""FedEx Track API responses → canonical tracking events.

Reads ``output.completeTrackResults[].trackResults[]``. Events per track result:

- every ``scanEvents[]`` entry (actual), coded by ``eventType`` then ``derivedStatusCode``;
- every ``dateAndTimes[]`` entry, coded by its ``type``: ``ACTUAL_*``/``SHIP`` are actual,
  ``ESTIMATED_*``/``ANTICIPATED_*`` estimated, ``COMMITMENT``/``APPOINTMENT_DELIVERY`` planned;
- ``estimatedDeliveryTimeWindow`` when it has a window: one estimated ``delivered`` event at
  the window's end (the latest time FedEx expects to deliver);
- ``latestStatusDetail`` only when there are no scan events (then it is the only sign of the
  package; it has no time), since otherwise it repeats the newest scan.

A track result that only carries ``error`` (tracking number not found) holds no event.
FedEx dates are ISO-8601 with an offset; a date without one keeps ``event_at_utc`` null.
"""

from __future__ import annotations

from dataclasses import astuple
from typing import TYPE_CHECKING, Any

from waybill.connectors.carriers.events import (
    CarrierEvent,
    Field,
    Location,
    NormalizeError,
    RecordError,
    parse_iso,
    require_object,
    stable_event_id,
    walk_records,
)
from waybill.milestones import lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "fedex"
_PLANNED_TYPES = {"COMMITMENT", "APPOINTMENT_DELIVERY"}
_ACTUAL_TYPES = {"SHIP", "ATTEMPTED_DELIVERY", "SHIPMENT_DATA_RECEIVED"}


def normalize(
    doc: Any, *, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CarrierEvent | NormalizeError]:
    """Yield one event or error per FedEx scan event, date and estimate in ``doc``.

    ``doc`` is a parsed FedEx Track API response; ``source`` names it in errors (the file);
    ``carrier_code`` overrides the default ``fedex``. Never raises on bad input: a malformed
    record becomes a :class:`NormalizeError` naming ``source``, the record's JSON path and
    the field, and the walk goes on.
    """
    carrier = carrier_code or "fedex"

    def entry_events(entry: Field) -> Iterator[CarrierEvent | NormalizeError]:
        fallback_number = entry.text("trackingNumber")
        results = list(entry.items("trackResults"))
        for result in results:
            yield from _track_result(result, fallback_number, carrier, source)

    yield from walk_records(doc, source, _complete_track_results, entry_events)


def _complete_track_results(root: Field) -> Iterator[Field]:
    return root.obj("output", required=True).items("completeTrackResults", required=True)


def _track_result(
    node: Field, fallback_number: str | None, carrier: str, source: str
) -> Iterator[CarrierEvent | NormalizeError]:
    try:
        result = require_object(node)
        scans = list(result.items("scanEvents"))
        dates = list(result.items("dateAndTimes"))
        window = result.obj("estimatedDeliveryTimeWindow")
        latest = result.obj("latestStatusDetail")
    except RecordError as exc:
        yield exc.to_error(source)
        return
    builders: list[tuple[Any, Field]] = [(_scan_event, scan) for scan in scans]
    builders += [(_date_event, item) for item in dates]
    if window.value is not None and _window_has_time(window):
        builders.append((_window_event, window))
    if not scans and latest.value is not None and _has_status(latest):
        builders.append((_latest_status_event, latest))
    for build, item in builders:
        try:
            yield build(item, result, fallback_number, carrier)
        except RecordError as exc:
            yield exc.to_error(source)


def _window_has_time(window: Field) -> bool:
    inner = window.value.get("window")
    return isinstance(inner, dict) and bool(inner.get("ends") or inner.get("begins"))


def _has_status(latest: Field) -> bool:
    return bool(latest.value.get("code") or latest.value.get("derivedCode"))


def _tracking_number(result: Field, fallback: str | None) -> str:
    number = result.obj("trackingNumberInfo").text("trackingNumber") if result.value else None
    number = number or fallback
    if number is None:
        raise result.error("trackingNumberInfo.trackingNumber", "is missing")
    return number


def _location(node: Field, key: str) -> Location:
    address = node.obj(key)
    if address.value is None:
        return Location()
    return Location(
        city=address.text("city"),
        state=address.text("stateOrProvinceCode"),
        postal_code=address.text("postalCode"),
        country=address.text("countryCode"),
    )


def _scan_event(node: Field, result: Field, fallback: str | None, carrier: str) -> CarrierEvent:
    scan = require_object(node)
    when = scan.raw_text("date")
    if when is None or not when.strip():
        raise scan.error("date", "is missing")
    event_at_utc, offset = parse_iso(when.strip(), scan, "date")
    event_type = scan.text("eventType")
    derived = scan.text("derivedStatusCode")
    candidates = [code for code in (event_type, derived) if code]
    if not candidates:
        raise scan.error("eventType", "is missing (and so is derivedStatusCode)")
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    reason_code = scan.text("exceptionCode")
    reason_description = scan.text("exceptionDescription")
    delay = scan.obj("delayDetail")
    if reason_code is None and delay.value is not None and delay.text("status") == "DELAYED":
        reason_code = delay.text("type")
        reason_description = reason_description or delay.text("subType")
    tracking = _tracking_number(result, fallback)
    location = _location(scan, "scanLocation")
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description=scan.text("eventDescription") or scan.text("derivedStatus"),
        milestone=milestone,
        classifier="actual",
        event_at_utc=event_at_utc,
        event_at_local=when,
        utc_offset=offset,
        location=location,
        reason_code=reason_code,
        reason_description=reason_description,
        event_id=stable_event_id(
            "fedex", tracking, "scan", event_type, derived, when, astuple(location)
        ),
        path=scan.path,
    )


def _classifier(date_type: str) -> str:
    if date_type.startswith("ACTUAL_") or date_type in _ACTUAL_TYPES:
        return "actual"
    if date_type in _PLANNED_TYPES:
        return "planned"
    # ESTIMATED_*, ANTICIPATED_* and any type FedEx adds later: a forward-looking date.
    return "estimated"


def _date_event(node: Field, result: Field, fallback: str | None, carrier: str) -> CarrierEvent:
    item = require_object(node)
    date_type = item.text("type", required=True) or ""
    when = item.text("dateTime", required=True) or ""
    event_at_utc, offset = parse_iso(when, item, "dateTime")
    source_code, milestone = lookup(SOURCE_STANDARD, [date_type])
    tracking = _tracking_number(result, fallback)
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description=date_type.replace("_", " ").lower(),
        milestone=milestone,
        classifier=_classifier(date_type),
        event_at_utc=event_at_utc,
        event_at_local=when,
        utc_offset=offset,
        location=Location(),
        reason_code=None,
        reason_description=None,
        event_id=stable_event_id("fedex", tracking, "dateAndTimes", date_type, when),
        path=item.path,
    )


def _window_event(node: Field, result: Field, fallback: str | None, carrier: str) -> CarrierEvent:
    holder = node.as_record()
    window = holder.obj("window", required=True)
    when = window.text("ends") or window.text("begins") or ""
    key = "ends" if window.text("ends") else "begins"
    event_at_utc, offset = parse_iso(when, window, key)
    window_type = holder.text("type") or "ESTIMATED_DELIVERY"
    source_code, milestone = lookup(SOURCE_STANDARD, [window_type])
    tracking = _tracking_number(result, fallback)
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description=holder.text("description") or "estimated delivery window",
        milestone=milestone,
        classifier="estimated",
        event_at_utc=event_at_utc,
        event_at_local=when,
        utc_offset=offset,
        location=Location(),
        reason_code=None,
        reason_description=None,
        event_id=stable_event_id("fedex", tracking, "window", window_type, when),
        path=holder.path,
    )


def _latest_status_event(
    node: Field, result: Field, fallback: str | None, carrier: str
) -> CarrierEvent:
    latest = node.as_record()
    code = latest.text("code")
    derived = latest.text("derivedCode")
    candidates = [value for value in (code, derived) if value]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    tracking = _tracking_number(result, fallback)
    location = _location(latest, "scanLocation")
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description=latest.text("description") or latest.text("statusByLocale"),
        milestone=milestone,
        classifier="actual",
        event_at_utc=None,
        event_at_local=None,
        utc_offset=None,
        location=location,
        reason_code=None,
        reason_description=None,
        event_id=stable_event_id("fedex", tracking, "latestStatusDetail", code, derived),
        path=latest.path,
    )
