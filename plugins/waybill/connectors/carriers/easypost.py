"""EasyPost trackers (a Tracker, a ``tracker.*`` webhook Event, a list) → canonical events.

Each ``tracking_details[]`` entry is an actual event coded by its EasyPost ``status``; a
non-null ``est_delivery_date`` is one estimated ``delivered`` event. EasyPost sends UTC
(``...Z``), so ``event_at_utc`` is always known when the time is valid.
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

SOURCE_STANDARD = "easypost"


def normalize(
    doc: Any, *, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CarrierEvent | NormalizeError]:
    """Yield one event or error per EasyPost tracking detail and estimated delivery in ``doc``.

    ``source`` names the document in errors; ``carrier_code`` overrides the tracker's
    ``carrier`` (lower-cased). Never raises on bad input.
    """

    def tracker_events(tracker: Field) -> Iterator[CarrierEvent | NormalizeError]:
        details = list(tracker.items("tracking_details"))
        has_estimate = tracker.child("est_delivery_date").value is not None
        builders: list[tuple[Any, Field]] = [(_detail_event, detail) for detail in details]
        if has_estimate:
            builders.append((_estimate_event, tracker))
        for build, item in builders:
            try:
                yield build(item, tracker, carrier_code)
            except RecordError as exc:
                yield exc.to_error(source)

    yield from walk_records(doc, source, _trackers, tracker_events)


def _trackers(root: Field) -> Iterator[Field]:
    if isinstance(root.value, list):
        for index, item in enumerate(root.value):
            yield Field(item, f"$[{index}]")
        return
    if not isinstance(root.value, dict):
        raise root.error(None, "document must be a Tracker, an Event or a list of trackers")
    kind = root.value.get("object")
    if kind == "Event":
        yield root.obj("result", required=True)
    elif "trackers" in root.value:
        yield from root.items("trackers")
    else:
        yield root


def _common(tracker: Field, carrier_override: str | None) -> tuple[str, str]:
    tracking = tracker.text("tracking_code", required=True) or ""
    carrier = carrier_override or (tracker.text("carrier") or "easypost").lower()
    return tracking, carrier


def _detail_event(node: Field, tracker: Field, carrier_override: str | None) -> CarrierEvent:
    detail = require_object(node)
    status = detail.text("status", required=True) or ""
    when = detail.text("datetime", required=True) or ""
    event_at_utc, offset = parse_iso(when, detail, "datetime")
    source_code, milestone = lookup(SOURCE_STANDARD, [status])
    tracking, carrier = _common(tracker, carrier_override)
    place = detail.obj("tracking_location")
    location = Location()
    if place.value is not None:
        location = Location(
            city=place.text("city"),
            state=place.text("state"),
            postal_code=place.text("zip"),
            country=place.text("country"),
        )
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description=detail.text("message") or detail.text("description"),
        milestone=milestone,
        classifier="actual",
        event_at_utc=event_at_utc,
        event_at_local=when,
        utc_offset=offset,
        location=location,
        reason_code=detail.text("status_detail"),
        reason_description=None,
        event_id=stable_event_id(
            "easypost",
            tracking,
            "detail",
            status,
            detail.text("status_detail"),
            detail.text("carrier_code"),
            when,
            astuple(location),
        ),
        path=detail.path,
    )


def _estimate_event(node: Field, tracker: Field, carrier_override: str | None) -> CarrierEvent:
    when = tracker.text("est_delivery_date", required=True) or ""
    event_at_utc, offset = parse_iso(when, tracker, "est_delivery_date")
    source_code, milestone = lookup(SOURCE_STANDARD, ["est_delivery_date"])
    tracking, carrier = _common(tracker, carrier_override)
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description="estimated delivery date",
        milestone=milestone,
        classifier="estimated",
        event_at_utc=event_at_utc,
        event_at_local=when,
        utc_offset=offset,
        location=Location(),
        reason_code=None,
        reason_description=None,
        event_id=stable_event_id("easypost", tracking, "estimate", when),
        path=f"{tracker.path}.est_delivery_date",
    )
