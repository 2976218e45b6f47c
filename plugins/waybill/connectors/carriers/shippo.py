"""Shippo tracking (``GET /tracks/{carrier}/{number}`` and ``track_updated`` webhooks) → events.

A Track object carries ``tracking_history[]`` (every status, oldest first) and
``tracking_status`` (the newest, which repeats the last history entry): each history entry is an
event, and ``tracking_status`` too when its ``object_id`` is not in the history (or the history is
empty). Each is coded ``<status>:<substatus.code>`` then ``<status>`` (``PRE_TRANSIT``,
``TRANSIT``, ``DELIVERED``, ``RETURNED``, ``FAILURE``, ``UNKNOWN``); ``status_date`` is UTC.
A non-null ``eta`` is one estimated ``delivered`` event. The ``track_updated`` webhook body
(``{"event": "track_updated", "data": {Track}}``) gives the same events and ids as the pull.
Any other document raises :class:`~waybill.connectors.carriers.contract.DocumentError`.
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

SOURCE_STANDARD = "shippo"
_EXCEPTION_STATUSES = {"FAILURE", "RETURNED"}


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per Shippo tracking status in ``doc`` (a Track or a webhook).

    ``source_channel`` is stamped on every event; ``source`` names the document in errors;
    ``carrier_code`` overrides the Track's ``carrier`` (a Shippo token such as ``usps``).
    Raises :class:`DocumentError` when ``doc`` is not a Shippo Track or ``track_updated`` body.
    """

    def track_events(track: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        tracking = track.text("tracking_number", required=True)
        carrier = carrier_code or (track.text("carrier") or "shippo").lower()
        history = list(track.items("tracking_history"))
        seen = {item.value.get("object_id") for item in history if isinstance(item.value, dict)} - {
            None
        }
        nodes = history
        latest = track.child("tracking_status").value
        if isinstance(latest, dict) and (not history or latest.get("object_id") not in seen):
            nodes = [*history, track.obj("tracking_status")]
        for node in nodes:
            try:
                yield _status_event(node, tracking, carrier, source_channel)
            except RecordError as exc:
                yield exc.to_error(source)
        if track.text("eta"):
            try:
                yield _eta_event(track, tracking, carrier, source_channel)
            except RecordError as exc:
                yield exc.to_error(source)

    yield from walk_records(doc, source, _tracks, track_events)


def _is_track(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "tracking_number" in value
        and ("tracking_status" in value or "tracking_history" in value)
    )


def _tracks(root: Field) -> list[Field]:
    value = root.value
    if isinstance(value, dict) and "event" in value:
        if value.get("event") != "track_updated":
            raise DocumentError(
                f"not a Shippo tracking document: webhook event {value.get('event')!r},"
                " not 'track_updated'"
            )
        return [root.obj("data", required=True)]
    if _is_track(value):
        return [root]
    raise DocumentError(
        "not a Shippo tracking document: expected a Track (tracking_number, tracking_status,"
        f" tracking_history) or a track_updated webhook, got {describe(value)}"
    )


def _status_event(node: Field, tracking: str, carrier: str, channel: str) -> CanonicalEvent:
    item = require_object(node)
    status = item.text("status", required=True)
    when = item.text("status_date", required=True)
    local, aware = parse_iso(when, item, "status_date")
    substatus = item.obj("substatus")
    sub_code = substatus.text("code") if substatus.value is not None else None
    candidates = [f"{status}:{sub_code}", status] if sub_code else [status]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    place = item.obj("location")
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
        event_code=candidates[0],
        source_code=source_code,
        milestone=milestone,
        source_description=item.text("status_details"),
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        location=location,
        reason_code=sub_code if status in _EXCEPTION_STATUSES else None,
        reason_description=substatus.text("text") if status in _EXCEPTION_STATUSES else None,
        is_exception=status in _EXCEPTION_STATUSES,
        source_event_id=item.text("object_id"),
        path=item.path,
    )


def _eta_event(track: Field, tracking: str, carrier: str, channel: str) -> CanonicalEvent:
    when = track.text("eta", required=True)
    local, aware = parse_iso(when, track, "eta")
    source_code, milestone = lookup(SOURCE_STANDARD, ["eta"])
    return make_event(
        carrier=carrier,
        tracking_number=tracking,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code="eta",
        source_code=source_code,
        milestone=milestone,
        source_description="estimated delivery (eta)",
        classifier="estimated",
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        path=f"{track.path}.eta",
    )
