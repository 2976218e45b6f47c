"""One landed carrier record → its canonical events, through the one normaliser of its format.

A carrier entity in ``sources.yaml`` says what its records are with an ``events`` block::

    events: {format: ups, record: activity, reference: shipperReference, published_at: publishedAt}

``format`` names a normaliser of :data:`waybill.connectors.carriers.FORMATS` (or ``x12_214``,
the X12 record mapping of :mod:`waybill.connectors.edi`); ``record`` says which part of the
format one raw record is. Feeds and webhooks often serve a *part* of a format's document (one
UPS ``activity`` with its tracking number, one FedEx ``scanEvent``): such a record is placed
where the format puts it and the format's own normaliser reads it, so the feed, the Track API,
the webhook and ``waybill carriers normalize`` share one implementation and one event id.

| format | record | one raw record is |
| --- | --- | --- |
| any | ``document`` (default) | a whole document of the format |
| ``ups`` | ``package`` | one ``trackResponse.shipment[].package[]`` |
| ``ups`` | ``activity`` | ``{"trackingNumber", "activity": <UPS activity>}`` (a bulk event feed) |
| ``ups`` | ``track_alert`` | a UPS Track Alert ``TrackingEventRequest`` (the webhook push) |
| ``fedex`` | ``track_result`` | one ``output.completeTrackResults[].trackResults[]`` |
| ``fedex`` | ``scan`` | ``{"trackingNumber", "trackingNumberUniqueId"?, "scanEvent": <scanEvents[] entry>}`` |
| ``x12_214`` | ``record`` | one X12 214 set as mapped by ``waybill.connectors.edi`` |

``reference`` is the dotted path of the shipper's reference (the order number) in the record,
``published_at`` that of the carrier's publication time; ``channel`` overrides the channel the
entity's kind implies (``api``, ``webhook``, ``x12``, ``csv``). The carrier code is always the
source's name, so a second carrier on a known format is a ``sources.yaml`` block.

Errors: a record the normaliser rejects yields :class:`NormalizeError` whose ``path`` is
relative to the raw record (``$.activity: field 'date'``), never to the document built around it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from waybill.connectors.carriers import FORMATS, CanonicalEvent, DocumentError, NormalizeError
from waybill.connectors.carriers.contract import Location, make_event
from waybill.connectors.carriers.timezones import format_offset, format_utc, zone_for
from waybill.load import carrier_events
from waybill.load.records import DeadLetter, Record
from waybill.milestones import lookup

if TYPE_CHECKING:
    import uuid
    from collections.abc import Iterator

    from waybill.load.copy import EventDeriver

X12_214 = "x12_214"
RECORD_KINDS: dict[str, tuple[str, ...]] = {
    "ups": ("document", "package", "activity", "track_alert"),
    "fedex": ("document", "track_result", "scan"),
    X12_214: ("record",),
}
CHANNEL_BY_KIND = {
    "rest": "api",
    "tracking_lookup": "api",
    "webhook_events": "webhook",
    "x12_files": "x12",
    "csv_files": "csv",
}


class EventsConfigError(ValueError):
    """An ``events`` block in ``sources.yaml`` names an unknown format or record kind."""


@dataclass(frozen=True, slots=True)
class EventsSpec:
    """How one entity's raw records become canonical events (the ``events`` block)."""

    format: str
    record: str = "document"
    channel: str = "api"
    reference: str | None = None
    published_at: str | None = None
    interchange_time_zone: str = "UTC"

    @classmethod
    def from_options(cls, where: str, options: dict[str, Any], kind: str) -> EventsSpec | None:
        """Read ``options["events"]`` of an entity (None when it has none).

        Raises :class:`EventsConfigError` naming ``where`` for an unknown format or record kind.
        """
        block = options.get("events")
        if not block:
            return None
        fmt = block.get("format")
        if fmt not in FORMATS and fmt != X12_214:
            known = sorted([*FORMATS, X12_214])
            raise EventsConfigError(f"{where}: events format {fmt!r} is not one of {known}")
        record = block.get("record", "record" if fmt == X12_214 else "document")
        allowed = RECORD_KINDS.get(fmt, ("document",))
        if record not in allowed:
            raise EventsConfigError(
                f"{where}: events record {record!r} is not one of {list(allowed)} for {fmt}"
            )
        return cls(
            format=fmt,
            record=record,
            channel=block.get("channel") or CHANNEL_BY_KIND.get(kind, "api"),
            reference=block.get("reference"),
            published_at=block.get("published_at"),
            interchange_time_zone=block.get("interchange_time_zone", "UTC"),
        )


def record_events(
    payload: Any, spec: EventsSpec, *, carrier: str, source: str
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield the canonical events (and per-event errors) of one raw record.

    ``payload`` is the record as landed, ``carrier`` the source's name (the carrier code),
    ``source`` names the record in errors (its raw table and key). A record that is not of the
    declared shape yields one :class:`NormalizeError` for it; nothing raises.
    """
    if spec.format == X12_214:
        yield from x12_214_events(payload, carrier=carrier, channel=spec.channel, source=source)
        return
    if not isinstance(payload, dict):
        yield NormalizeError(source, "$", None, f"record must be an object, got {_kind(payload)}")
        return
    document, prefix, fields = _document(payload, spec)
    try:
        for item in FORMATS[spec.format](
            document, source_channel=spec.channel, source=source, carrier_code=carrier
        ):
            yield _relative(item, prefix, fields)
    except DocumentError as exc:
        yield NormalizeError(source, "$", None, str(exc))


def dotted(payload: Any, path: str | None) -> str | None:
    """Return the text at dotted ``path`` of ``payload`` (None when absent or not a scalar)."""
    if not path:
        return None
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# Where the format keeps the part a record holds: (document, the part's path in it).
_UPS_PACKAGE = "$.trackResponse.shipment[0].package[0]"
_FEDEX_RESULT = "$.output.completeTrackResults[0].trackResults[0]"
# Track Alert field → the UPS activity field the normaliser names, to report the pushed name.
_TRACK_ALERT_FIELDS = {
    "date": "localActivityDate",
    "time": "localActivityTime",
    "gmtDate": "gmtActivityDate",
    "gmtTime": "gmtActivityTime",
    "status": "activityStatus",
    "location": "activityLocation",
}


def _document(payload: dict[str, Any], spec: EventsSpec) -> tuple[Any, str, dict[str, str]]:
    """Place the record where its format keeps it; return (document, record's path, field map)."""
    number = payload.get("trackingNumber")
    if spec.record == "package":
        shipment = {"inquiryNumber": number, "package": [payload]}
        return {"trackResponse": {"shipment": [shipment]}}, _UPS_PACKAGE, {}
    if spec.record == "activity":
        package = {"trackingNumber": number, "activity": [payload.get("activity")]}
        document = {"trackResponse": {"shipment": [{"package": [package]}]}}
        return document, _UPS_PACKAGE + ".activity[0]", {}
    if spec.record == "track_alert":
        package = {"trackingNumber": number, "activity": [_track_alert_activity(payload)]}
        document = {"trackResponse": {"shipment": [{"package": [package]}]}}
        return document, _UPS_PACKAGE + ".activity[0]", _TRACK_ALERT_FIELDS
    if spec.record == "track_result":
        entry: dict[str, Any] = {"trackingNumber": number, "trackResults": [payload]}
        return {"output": {"completeTrackResults": [entry]}}, _FEDEX_RESULT, {}
    if spec.record == "scan":
        info = {"trackingNumber": number}
        if payload.get("trackingNumberUniqueId"):
            info["trackingNumberUniqueId"] = payload["trackingNumberUniqueId"]
        result: dict[str, Any] = {
            "trackingNumberInfo": info,
            "scanEvents": [payload.get("scanEvent")],
        }
        scans: dict[str, Any] = {"trackingNumber": number, "trackResults": [result]}
        document = {"output": {"completeTrackResults": [scans]}}
        return document, _FEDEX_RESULT + ".scanEvents[0]", {}
    return payload, "", {}


def _track_alert_activity(body: dict[str, Any]) -> dict[str, Any] | None:
    """A UPS Track Alert ``TrackingEventRequest`` as the Track API ``activity`` it reports."""
    place = body.get("activityLocation")
    address: dict[str, Any] | None = None
    if isinstance(place, dict):
        address = {
            "city": place.get("city"),
            "stateProvince": place.get("stateProvince"),
            "postalCode": place.get("postalCode"),
            "countryCode": place.get("countryCode") or place.get("country"),
        }
    activity = {
        "date": body.get("localActivityDate"),
        "time": body.get("localActivityTime"),
        "gmtDate": body.get("gmtActivityDate"),
        "gmtTime": body.get("gmtActivityTime"),
        "gmtOffset": body.get("gmtOffset"),
        "status": body.get("activityStatus"),
        "location": {"address": address} if address is not None else None,
    }
    return {key: value for key, value in activity.items() if value is not None}


def _relative(
    item: CanonicalEvent | NormalizeError, prefix: str, fields: dict[str, str]
) -> CanonicalEvent | NormalizeError:
    """Rewrite an error's path (and field names) from the built document to the raw record."""
    if isinstance(item, CanonicalEvent) or not prefix:
        return item
    path = item.path
    if path.startswith(prefix):
        record_path = "$" + path[len(prefix) :]
        if prefix.endswith(".activity[0]"):
            record_path = "$" if fields else "$.activity" + path[len(prefix) :]
        elif prefix.endswith(".scanEvents[0]"):
            record_path = "$.scanEvent" + path[len(prefix) :]
        path = record_path
    elif prefix.startswith(path):  # a container the record was placed in: the record itself
        path = "$"
    field = item.field
    if field and fields:
        head, _, rest = field.partition(".")
        field = fields.get(head, head) + (f".{rest}" if rest else "")
    return NormalizeError(
        item.source,
        path,
        field,
        item.message,
        item.carrier_error_code,
        item.carrier_error_message,
    )


# --- X12 214 -------------------------------------------------------------------------------------

# AT7-07 time codes: the zone when the MS1 place does not decide (it cannot tell Denver from
# Phoenix, so the place comes first).
_TIME_CODE_ZONES = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "UT": "UTC",
}
# X12 status codes that forecast a milestone rather than report it.
_ESTIMATE_CODES = frozenset({"AG", "X2", "B6", "C1"})
_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{4}(\d{2})?(\d{2})?$")


def x12_214_events(
    record: Any, *, carrier: str, channel: str = "x12", source: str = "<input>"
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one canonical event per AT7 of an X12 214 record (``waybill.connectors.edi``).

    AT7-05/06 are local time at the MS1 place; the zone follows the one rule (place: city,
    state, country), then the AT7-07 time code. AT7-01 is the status, AT7-02 the reason (``NS``
    is normal: no reason). An AT7 without a status or a valid date becomes an error naming
    ``$.events[i]`` and the field.
    """
    if not isinstance(record, dict) or not isinstance(record.get("events"), list):
        yield NormalizeError(source, "$", "events", "not an X12 214 record: no events array")
        return
    number = _text(record.get("carrier_pro")) or _text(record.get("shipper_reference"))
    for index, event in enumerate(record["events"]):
        path = f"$.events[{index}]"
        if not isinstance(event, dict):
            yield NormalizeError(source, path, None, f"event must be an object, got {_kind(event)}")
            continue
        try:
            yield _x12_event(event, number, carrier, channel, path)
        except _X12Error as exc:
            yield NormalizeError(source, path, exc.field, exc.message)


class _X12Error(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _x12_event(
    event: dict[str, Any], number: str | None, carrier: str, channel: str, path: str
) -> CanonicalEvent:
    if number is None:
        raise _X12Error("carrier_pro", "is missing (and so is the shipper reference)")
    code = _text(event.get("status_code"))
    if code is None:
        raise _X12Error("status_code", "is missing (AT7-01)")
    date = _text(event.get("event_date")) or ""
    if not _DATE.match(date):
        raise _X12Error("event_date", f"must be CCYYMMDD, got {date[:20]!r}")
    time = _text(event.get("event_time")) or "0000"
    if not _TIME.match(time):
        raise _X12Error("event_time", f"must be HHMM[SS], got {time[:20]!r}")
    try:
        local = datetime.strptime(date + time[:4], "%Y%m%d%H%M")
    except ValueError:
        raise _X12Error("event_date", f"is not a date and time: {date} {time}") from None
    place = Location(
        city=_text(event.get("city")),
        state=_text(event.get("state")),
        country=_text(event.get("country")) or "US",
    )
    source_code, milestone = lookup(X12_214, [code])
    reason = _text(event.get("status_reason"))
    reason = None if reason == "NS" else reason
    built = make_event(
        carrier=carrier,
        tracking_number=number,
        source_format=X12_214,
        source_channel=channel,
        event_code=code,
        source_code=source_code,
        milestone=milestone,
        source_description=None,
        classifier="estimated" if code in _ESTIMATE_CODES else "actual",
        occurred_at_local=f"{date}T{time[:4]}",
        local_moment=local,
        location=place,
        reason_code=reason,
        path=path,
    )
    zone = _TIME_CODE_ZONES.get(_text(event.get("time_code")) or "")
    if built.occurred_at_utc is not None or zone is None:
        return built
    moment = local.replace(tzinfo=ZoneInfo(zone))
    return replace(
        built,
        occurred_at_utc=format_utc(moment),
        utc_offset=format_offset(moment.utcoffset()),
        time_zone=zone,
        time_zone_source="payload",
    )


def event_deriver(spec: EventsSpec, carrier: str, table: str) -> EventDeriver:
    """Return the loader's ``events`` callable for one entity (see ``load_batch``).

    For each newly landed record: its canonical events as ``raw.carrier_events`` rows with the
    record's lineage, shipper reference and publication time, and one dead letter per record
    or event the normaliser could not read (naming the JSON path and field).
    """

    def derive(
        record: Record, payload_hash: str, batch_id: uuid.UUID
    ) -> tuple[list[tuple], list[DeadLetter]]:
        payload = record.payload
        if isinstance(payload, str | bytes):
            payload = json.loads(payload)
        source = f"raw.{table} {record.natural_key}"
        lineage = carrier_events.Lineage(
            table, record.natural_key, payload_hash, published_at(payload, spec)
        )
        reference = dotted(payload, spec.reference) if spec.reference else None
        if spec.format == X12_214 and reference is None:
            reference = x12_order_reference(payload)
        rows: list[tuple] = []
        letters: list[DeadLetter] = []
        for item in record_events(payload, spec, carrier=carrier, source=source):
            if isinstance(item, NormalizeError):
                letters.append(
                    DeadLetter(
                        f"{record.location} {item.path}",
                        f"canonical event: {item}",
                        item.field or item.path,
                        _raw(payload),
                    )
                )
            else:
                rows.append(
                    carrier_events.row(_with_place_zone(item), lineage, batch_id, reference)
                )
        return rows, letters

    return derive


def _with_place_zone(event: CanonicalEvent) -> CanonicalEvent:
    """The event with the IANA zone of its place when the payload's offset decided its instant.

    The rule leaves ``time_zone`` empty when the payload carries an offset (UPS ``gmtOffset``,
    FedEx ISO offsets); the place's zone (same seed, same city/state/country steps) is still
    the zone of the event, and the same scan pulled without an offset gets it from its place:
    landing it either way keeps ``time_zone`` the same whichever channel lands first.
    ``time_zone_source`` keeps saying what decided the instant.
    """
    if event.time_zone is not None or event.time_zone_source != "payload":
        return event
    place = event.location
    zone, _step = zone_for(place.country, place.state, place.city)
    return event if zone is None else replace(event, time_zone=zone)


def published_at(payload: Any, spec: EventsSpec) -> datetime | None:
    """When the carrier published the record: ``spec.published_at`` (ISO-8601 with an offset),
    else for X12 the interchange date and time (ISA09/ISA10) in ``spec.interchange_time_zone``;
    None when neither is known or the text is not an instant."""
    text = dotted(payload, spec.published_at) if spec.published_at else None
    if text:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else None
    if spec.format == X12_214 and isinstance(payload, dict):
        date, time = payload.get("interchange_date"), payload.get("interchange_time")
        if isinstance(date, str) and isinstance(time, str):
            try:
                local = datetime.strptime(date + time, "%y%m%d%H%M")
            except ValueError:
                return None
            return local.replace(tzinfo=ZoneInfo(spec.interchange_time_zone))
    return None


def x12_order_reference(record: Any) -> str | None:
    """The order number an X12 214 names: its first ``PO`` reference (L11 qualifier PO)."""
    if not isinstance(record, dict):
        return None
    for reference in record.get("references") or ():
        if isinstance(reference, dict) and reference.get("qualifier") == "PO":
            return _text(reference.get("value"))
    return None


def _raw(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)[:10_000]
