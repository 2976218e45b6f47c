"""EasyPost trackers (a Tracker, a ``tracker.*`` webhook Event, a list) → canonical events.

Each ``tracking_details[]`` entry is an actual event coded by its EasyPost ``status`` (then
``status_detail`` for the reason); a non-null ``est_delivery_date`` is one estimated
``delivered`` event. EasyPost sends UTC (``...Z``), so ``occurred_at_utc`` is known whenever the
time is valid. The same tracker pulled (``GET /trackers/{id}``) and pushed (``tracker.updated``)
yields the same event ids. ``carrier`` is the tracker's carrier, lower-cased (EasyPost is an
aggregator). A document that is not a Tracker, a ``tracker.*`` Event, ``{"trackers": [...]}`` or
a list of trackers raises :class:`~waybill.connectors.carriers.contract.DocumentError`.
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
    records_of,
    require_object,
    walk_records,
)
from waybill.milestones import lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "easypost"
_EXCEPTION_STATUSES = {"failure", "return_to_sender", "error"}


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per EasyPost tracking detail and estimated delivery in ``doc``.

    ``source_channel`` is stamped on every event; ``source`` names the document in errors;
    ``carrier_code`` overrides the tracker's ``carrier`` (lower-cased). Raises
    :class:`DocumentError` when ``doc`` is not an EasyPost tracker document.
    """

    def tracker_events(tracker: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        details = list(tracker.items("tracking_details"))
        has_estimate = tracker.child("est_delivery_date").value is not None
        builders: list[tuple[Any, Field]] = [(_detail_event, detail) for detail in details]
        if has_estimate:
            builders.append((_estimate_event, tracker))
        for build, item in builders:
            try:
                yield build(item, tracker, carrier_code, source_channel)
            except RecordError as exc:
                yield exc.to_error(source)

    yield from walk_records(doc, source, _trackers, tracker_events)


def _is_tracker(value: Any) -> bool:
    return isinstance(value, dict) and (
        value.get("object") == "Tracker"
        or ("tracking_code" in value and "tracking_details" in value)
    )


def _trackers(root: Field) -> list[Field]:
    if isinstance(root.value, list):
        return records_of(root, "an EasyPost tracker document", _is_tracker)
    if not isinstance(root.value, dict):
        raise DocumentError(
            f"not an EasyPost tracker document: the document is {describe(root.value)}"
        )
    kind = root.value.get("object")
    if kind == "Event":
        description = root.value.get("description")
        if not (isinstance(description, str) and description.startswith("tracker.")):
            raise DocumentError(
                f"not an EasyPost tracker document: an Event {description!r}, not tracker.*"
            )
        return [root.obj("result", required=True)]
    if isinstance(root.value.get("trackers"), list):
        return records_of(
            root.child("trackers", kind=list), "an EasyPost tracker document", _is_tracker
        )
    if _is_tracker(root.value):
        return [root]
    raise DocumentError(
        "not an EasyPost tracker document: no Tracker object, tracker.* Event or 'trackers' list"
    )


def _common(tracker: Field, carrier_override: str | None) -> tuple[str, str]:
    tracking = tracker.text("tracking_code", required=True)
    carrier = carrier_override or (tracker.text("carrier") or "easypost").lower()
    return tracking, carrier


def _detail_event(
    node: Field, tracker: Field, carrier_override: str | None, channel: str
) -> CanonicalEvent:
    detail = require_object(node)
    status = detail.text("status", required=True)
    when = detail.text("datetime", required=True)
    local, aware = parse_iso(when, detail, "datetime")
    status_detail = detail.text("status_detail")
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
    return make_event(
        carrier=carrier,
        tracking_number=tracking,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code=":".join(
            part for part in (status, status_detail, detail.text("carrier_code")) if part
        ),
        source_code=source_code,
        milestone=milestone,
        source_description=detail.text("message") or detail.text("description"),
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        location=location,
        reason_code=status_detail,
        is_exception=status in _EXCEPTION_STATUSES,
        path=detail.path,
    )


def _estimate_event(
    node: Field, tracker: Field, carrier_override: str | None, channel: str
) -> CanonicalEvent:
    when = tracker.text("est_delivery_date", required=True)
    local, aware = parse_iso(when, tracker, "est_delivery_date")
    source_code, milestone = lookup(SOURCE_STANDARD, ["est_delivery_date"])
    tracking, carrier = _common(tracker, carrier_override)
    return make_event(
        carrier=carrier,
        tracking_number=tracking,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code="est_delivery_date",
        source_code=source_code,
        milestone=milestone,
        source_description="estimated delivery date",
        classifier="estimated",
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        path=f"{tracker.path}.est_delivery_date",
    )
