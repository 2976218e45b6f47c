"""UPS Track API v1 responses → canonical tracking events.

Reads ``trackResponse.shipment[].package[]``: every ``activity[]`` entry is an actual event;
every ``deliveryDate[]`` entry is a delivery date event (``SDD``/``RDD`` estimated, ``DEL``
actual), timed by ``deliveryTime.endTime`` when that container applies to it.

Times: UPS sends the local date ``YYYYMMDD`` and time ``HHMMSS`` of the scanning facility with
no zone (``occurred_at_local`` keeps ``YYYYMMDDTHHMMSS``). ``gmtDate``/``gmtTime`` or
``gmtOffset`` are the payload's explicit instant; without them the zone comes from the activity's
city/state/country (the rule in :mod:`waybill.connectors.carriers.timezones`).

Not-found and errors: a shipment whose only content is ``warnings[]`` (UPS ``TW0001`` "Tracking
Information Not Found") is one error per warning, naming ``shipment[i].warnings[j]`` and keeping
UPS's code and message; so is every ``response.errors[]`` item of an error envelope. A document
with neither ``trackResponse`` nor ``response.errors`` is not a UPS Track API response
(:class:`~waybill.connectors.carriers.contract.DocumentError`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
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
    require_object,
    walk_records,
)
from waybill.milestones import lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "ups"
_DATE_RE = re.compile(r"^\d{8}$")
# UPS documents HHMMSS but its own example gmtTime is '74700': a dropped leading zero.
_TIME_RE = re.compile(r"^\d{5,6}$")
_OFFSET_RE = re.compile(r"^([+-])(\d{2})[:.]?(\d{2})$")
_DELIVERY_TIME_FOR = {
    "DEL": {"DEL"},
    "SDD": {"CMT", "EDW", "CDW", "IDW"},
    "RDD": {"CMT", "EDW", "CDW", "IDW"},
}


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per UPS activity, delivery date and warning in ``doc``.

    ``doc`` is a parsed UPS Track API response; ``source_channel`` is stamped on every event;
    ``source`` names the document in errors (the file); ``carrier_code`` overrides the default
    ``ups``. A malformed record becomes a :class:`NormalizeError` naming ``source``, the
    record's JSON path and the field, and the walk goes on. Raises :class:`DocumentError`
    when ``doc`` is not a UPS Track API response at all.
    """
    carrier = carrier_code or "ups"
    if not isinstance(doc, dict):
        raise DocumentError(f"not a UPS Track API response: the document is {describe(doc)}")
    if "trackResponse" not in doc:
        response = doc.get("response")
        if isinstance(response, dict) and "errors" in response:
            yield from carrier_errors(Field(doc).obj("response"), "errors", source, "UPS")
            return
        raise DocumentError(
            "not a UPS Track API response: no 'trackResponse' and no 'response.errors'"
        )

    def shipment_events(shipment: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        inquiry = shipment.text("inquiryNumber")
        packages = list(shipment.items("package"))
        if not packages:
            warnings = shipment.child("warnings").value
            if warnings:
                yield from carrier_errors(shipment, "warnings", source, "UPS", kind="warning")
            else:
                yield shipment.error("package", "is missing: no package and no warning").to_error(
                    source
                )
        for package in packages:
            try:
                package = require_object(package)
                activities = list(package.items("activity"))
                delivery_dates = list(package.items("deliveryDate"))
            except RecordError as exc:
                yield exc.to_error(source)
                continue
            for node in activities:
                try:
                    yield _activity_event(node, package, inquiry, carrier, source_channel)
                except RecordError as exc:
                    yield exc.to_error(source)
            for node in delivery_dates:
                try:
                    yield _delivery_date_event(node, package, inquiry, carrier, source_channel)
                except RecordError as exc:
                    yield exc.to_error(source)

    yield from walk_records(doc, source, _shipments, shipment_events)


def _shipments(root: Field) -> Iterator[Field]:
    return root.obj("trackResponse", required=True).items("shipment", required=True)


def _tracking_number(package: Field, inquiry: str | None) -> str:
    number = package.text("trackingNumber") or inquiry
    if number is None:
        raise package.error("trackingNumber", "is missing and the shipment has no inquiryNumber")
    return number


def _date(node: Field, key: str, value: str) -> str:
    if not _DATE_RE.match(value):
        raise node.error(key, f"must be YYYYMMDD, got {value[:40]!r}")
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise node.error(key, f"is not a calendar date: {value!r}") from None
    return value


def _time(node: Field, key: str, value: str) -> str:
    if not _TIME_RE.match(value):
        raise node.error(key, f"must be HHMMSS, got {value[:40]!r}")
    padded = value.zfill(6)
    try:
        datetime.strptime(padded, "%H%M%S")
    except ValueError:
        raise node.error(key, f"is not a time of day: {value!r}") from None
    return padded


def _offset(node: Field, key: str, value: str) -> timezone:
    match = _OFFSET_RE.match(value)
    if not match or int(match.group(2)) > 18 or int(match.group(3)) > 59:
        raise node.error(key, f"must be an offset like -05:00, got {value[:40]!r}")
    delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
    return timezone(delta if match.group(1) == "+" else -delta)


def _location(node: Field) -> Location:
    address = node.obj("location").obj("address")
    if address.value is None:
        return Location()
    return Location(
        city=address.text("city"),
        state=address.text("stateProvince"),
        postal_code=address.text("postalCode"),
        country=address.text("countryCode") or address.text("country"),
    )


def _activity_event(
    node: Field, package: Field, inquiry: str | None, carrier: str, channel: str
) -> CanonicalEvent:
    act = require_object(node)
    status = act.obj("status", required=True)
    status_type = status.text("type", required=True)
    code = status.text("code")
    description = status.text("description")
    date = _date(act, "date", act.text("date", required=True) or "")
    raw_time = act.text("time")
    time = _time(act, "time", raw_time) if raw_time else None
    local = f"{date}T{time}" if time else date
    local_moment = datetime.strptime(date + time, "%Y%m%d%H%M%S") if time else None

    aware: datetime | None = None
    utc_offset = act.text("gmtOffset")
    tz = _offset(act, "gmtOffset", utc_offset) if utc_offset else None
    gmt_date, gmt_time = act.text("gmtDate"), act.text("gmtTime")
    if gmt_date and gmt_time:
        moment = datetime.strptime(
            _date(act, "gmtDate", gmt_date) + _time(act, "gmtTime", gmt_time), "%Y%m%d%H%M%S"
        ).replace(tzinfo=UTC)
        aware = moment.astimezone(tz) if tz is not None else moment
    elif tz is not None and local_moment is not None:
        aware = local_moment.replace(tzinfo=tz)

    candidates = [f"{status_type}:{code}", status_type] if code else [status_type]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    is_exception = status_type == "X"
    return make_event(
        carrier=carrier,
        tracking_number=_tracking_number(package, inquiry),
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code=candidates[0],
        source_code=source_code,
        milestone=milestone,
        source_description=description,
        occurred_at_local=local,
        local_moment=local_moment,
        aware_moment=aware,
        location=_location(act),
        reason_code=code if is_exception else None,
        reason_description=description if is_exception else None,
        path=act.path,
    )


def _delivery_date_event(
    node: Field, package: Field, inquiry: str | None, carrier: str, channel: str
) -> CanonicalEvent:
    item = require_object(node)
    date_type = item.text("type", required=True) or ""
    date = _date(item, "date", item.text("date", required=True) or "")
    time = None
    delivery_time = package.obj("deliveryTime")
    if delivery_time.value is not None:
        time_type = delivery_time.text("type")
        end_time = delivery_time.text("endTime")
        if end_time and time_type in _DELIVERY_TIME_FOR.get(date_type, ()):
            time = _time(delivery_time, "endTime", end_time)
    local = f"{date}T{time}" if time else date
    source_code, milestone = lookup(SOURCE_STANDARD, [date_type])
    return make_event(
        carrier=carrier,
        tracking_number=_tracking_number(package, inquiry),
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code=f"deliveryDate:{date_type}",
        source_code=source_code,
        milestone=milestone,
        source_description={
            "SDD": "Scheduled delivery date",
            "RDD": "Rescheduled delivery date",
        }.get(date_type, "Delivered date" if date_type == "DEL" else None),
        classifier="actual" if date_type == "DEL" else "estimated",
        occurred_at_local=local,
        # No location on a delivery date: with a time of day the instant stays unknown.
        local_moment=datetime.strptime(date + time, "%Y%m%d%H%M%S") if time else None,
        path=item.path,
    )
