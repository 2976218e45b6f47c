"""FedEx Track API responses → canonical tracking events.

Reads ``output.completeTrackResults[].trackResults[]``. Events per track result:

- every ``scanEvents[]`` entry (actual), coded by ``eventType`` then ``derivedStatusCode``;
- every ``dateAndTimes[]`` entry, coded by its ``type``: ``ACTUAL_*``/``SHIP`` are actual,
  ``ESTIMATED_*``/``ANTICIPATED_*`` estimated, ``COMMITMENT``/``APPOINTMENT_DELIVERY`` planned;
- ``estimatedDeliveryTimeWindow`` when it has a window: one estimated ``delivered`` event at
  the window's end (the latest time FedEx expects to deliver);
- ``latestStatusDetail`` only when there are no scan events (then it is the only sign of the
  package; it has no time), since otherwise it repeats the newest scan.

A track result that carries ``error`` (e.g. ``TRACKING.TRACKINGNUMBER.NOTFOUND``) is one error
keeping FedEx's code and message; so is each ``errors[]`` item of an error envelope. One tracking
number can be reused by several packages: each track result's
``trackingNumberInfo.trackingNumberUniqueId`` becomes ``package_unique_id`` (and is part of the
event id), so their events are never merged. FedEx dates are ISO-8601 with an offset; one without
falls to the time-zone rule. A document with neither ``output`` nor ``errors`` is not a FedEx
Track API response (:class:`~waybill.connectors.carriers.contract.DocumentError`).
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
    carrier_errors,
    describe,
    parse_iso,
    require_object,
    walk_records,
)
from waybill.milestones import lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "fedex"
_PLANNED_TYPES = {"COMMITMENT", "APPOINTMENT_DELIVERY"}
_ACTUAL_TYPES = {"SHIP", "ATTEMPTED_DELIVERY", "SHIPMENT_DATA_RECEIVED"}


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per FedEx scan event, date, estimate and error in ``doc``.

    ``doc`` is a parsed FedEx Track API response; ``source_channel`` is stamped on every event;
    ``source`` names the document in errors (the file); ``carrier_code`` overrides the default
    ``fedex``. A malformed record becomes a :class:`NormalizeError` naming ``source``, the
    record's JSON path and the field, and the walk goes on. Raises :class:`DocumentError` when
    ``doc`` is not a FedEx Track API response at all.
    """
    carrier = carrier_code or "fedex"
    if not isinstance(doc, dict):
        raise DocumentError(f"not a FedEx Track API response: the document is {describe(doc)}")
    if "output" not in doc:
        if "errors" in doc:
            yield from carrier_errors(Field(doc), "errors", source, "FedEx")
            return
        raise DocumentError("not a FedEx Track API response: no 'output' and no 'errors'")

    def entry_events(entry: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        fallback_number = entry.text("trackingNumber")
        results = list(entry.items("trackResults"))
        for result in results:
            yield from _track_result(result, fallback_number, carrier, source, source_channel)

    yield from walk_records(doc, source, _complete_track_results, entry_events)


def _complete_track_results(root: Field) -> Iterator[Field]:
    return root.obj("output", required=True).items("completeTrackResults", required=True)


def _track_result(
    node: Field, fallback_number: str | None, carrier: str, source: str, channel: str
) -> Iterator[CanonicalEvent | NormalizeError]:
    try:
        result = require_object(node)
        error = result.obj("error")
        scans = list(result.items("scanEvents"))
        dates = list(result.items("dateAndTimes"))
        window = result.obj("estimatedDeliveryTimeWindow")
        latest = result.obj("latestStatusDetail")
    except RecordError as exc:
        yield exc.to_error(source)
        return
    if error.value is not None:
        code, message = error.text("code"), error.text("message")
        yield NormalizeError(
            source,
            error.path,
            None,
            f"FedEx error {code or '(no code)'}: {message or '(no message)'}",
            code,
            message,
        )
    builders: list[tuple[Any, Field]] = [(_scan_event, scan) for scan in scans]
    builders += [(_date_event, item) for item in dates]
    if window.value is not None and _window_has_time(window):
        builders.append((_window_event, window))
    if not scans and latest.value is not None and _has_status(latest):
        builders.append((_latest_status_event, latest))
    for build, item in builders:
        try:
            yield build(item, _Package(result, fallback_number, carrier, channel))
        except RecordError as exc:
            yield exc.to_error(source)


def _window_has_time(window: Field) -> bool:
    inner = window.value.get("window")
    return isinstance(inner, dict) and bool(inner.get("ends") or inner.get("begins"))


def _has_status(latest: Field) -> bool:
    return bool(latest.value.get("code") or latest.value.get("derivedCode"))


class _Package:
    """What every event of one track result shares: its numbers, carrier and channel."""

    __slots__ = ("carrier", "channel", "result", "tracking_number", "unique_id")

    def __init__(self, result: Field, fallback: str | None, carrier: str, channel: str) -> None:
        self.result = result
        self.carrier = carrier
        self.channel = channel
        self.tracking_number = _tracking_number(result, fallback)
        self.unique_id = result.obj("trackingNumberInfo").text("trackingNumberUniqueId")

    def event(self, **fields: Any) -> CanonicalEvent:
        """Build this package's event (see :func:`make_event`)."""
        return make_event(
            carrier=self.carrier,
            tracking_number=self.tracking_number,
            package_unique_id=self.unique_id,
            source_format=SOURCE_STANDARD,
            source_channel=self.channel,
            **fields,
        )


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


def _scan_event(node: Field, package: _Package) -> CanonicalEvent:
    scan = require_object(node)
    when = scan.raw_text("date")
    if when is None or not when.strip():
        raise scan.error("date", "is missing")
    local, aware = parse_iso(when.strip(), scan, "date")
    event_type = scan.text("eventType")
    derived = scan.text("derivedStatusCode")
    candidates = [code for code in (event_type, derived) if code]
    if not candidates:
        raise scan.error("eventType", "is missing (and so is derivedStatusCode)")
    reason_code = scan.text("exceptionCode")
    # The exception code refines the scan (DE + DMG: damaged, not a delivery delay).
    specific = [f"{code}:{reason_code}" for code in candidates] if reason_code else []
    source_code, milestone = lookup(SOURCE_STANDARD, specific + candidates)
    reason_description = scan.text("exceptionDescription")
    delay = scan.obj("delayDetail")
    if reason_code is None and delay.value is not None and delay.text("status") == "DELAYED":
        reason_code = delay.text("type")
        reason_description = reason_description or delay.text("subType")
    return package.event(
        event_code=":".join(candidates),
        source_code=source_code,
        milestone=milestone,
        source_description=scan.text("eventDescription") or scan.text("derivedStatus"),
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        location=_location(scan, "scanLocation"),
        reason_code=reason_code,
        reason_description=reason_description,
        is_exception=scan.text("exceptionCode") is not None,
        path=scan.path,
    )


def _classifier(date_type: str) -> str:
    if date_type.startswith("ACTUAL_") or date_type in _ACTUAL_TYPES:
        return "actual"
    if date_type in _PLANNED_TYPES:
        return "planned"
    # ESTIMATED_*, ANTICIPATED_* and any type FedEx adds later: a forward-looking date.
    return "estimated"


def _date_event(node: Field, package: _Package) -> CanonicalEvent:
    item = require_object(node)
    date_type = item.text("type", required=True) or ""
    when = item.text("dateTime", required=True) or ""
    local, aware = parse_iso(when, item, "dateTime")
    source_code, milestone = lookup(SOURCE_STANDARD, [date_type])
    return package.event(
        event_code=f"dateAndTimes:{date_type}",
        source_code=source_code,
        milestone=milestone,
        source_description=date_type.replace("_", " ").lower(),
        classifier=_classifier(date_type),
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        path=item.path,
    )


def _window_event(node: Field, package: _Package) -> CanonicalEvent:
    holder = node.as_record()
    window = holder.obj("window", required=True)
    when = window.text("ends") or window.text("begins") or ""
    key = "ends" if window.text("ends") else "begins"
    local, aware = parse_iso(when, window, key)
    window_type = holder.text("type") or "ESTIMATED_DELIVERY"
    source_code, milestone = lookup(SOURCE_STANDARD, [window_type])
    return package.event(
        event_code=f"estimatedDeliveryTimeWindow:{window_type}",
        source_code=source_code,
        milestone=milestone,
        source_description=holder.text("description") or "estimated delivery window",
        classifier="estimated",
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        path=holder.path,
    )


def _latest_status_event(node: Field, package: _Package) -> CanonicalEvent:
    latest = node.as_record()
    code = latest.text("code")
    derived = latest.text("derivedCode")
    candidates = [value for value in (code, derived) if value]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    return package.event(
        event_code="latestStatusDetail:" + ":".join(candidates),
        source_code=source_code,
        milestone=milestone,
        source_description=latest.text("description") or latest.text("statusByLocale"),
        occurred_at_local=None,
        location=_location(latest, "scanLocation"),
        path=latest.path,
    )
