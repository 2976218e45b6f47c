"""AfterShip tracking: API responses of each version, webhooks, tags and subtags, local times.

The examples follow AfterShip's Tracking API reference: ``{"meta": {"code": 200}, "data":
{"tracking": {...}}}`` (and ``data`` holding the tracking directly in 2024+ versions), the
``tracking_update`` webhook ``{"event": "tracking_update", "msg": {...}}``, checkpoints with
``tag``/``subtag``/``checkpoint_time`` (local time, with or without an offset, or a date), and
``meta.code`` 4004 "Tracking does not exist." for an unknown tracking.
"""

from __future__ import annotations

from typing import Any

import pytest

from waybill.connectors.carriers import DocumentError, NormalizeResult, normalize_result


def _run(doc: Any, channel: str = "aggregator") -> NormalizeResult:
    return normalize_result(doc, "aftership", source="as.json", source_channel=channel)


def _checkpoint(**overrides: Any) -> dict[str, Any]:
    checkpoint = {
        "slug": "ups",
        "city": "EL PASO",
        "state": "TX",
        "zip": "79901",
        "country_iso3": "USA",
        "country_name": "USA",
        "message": "Departed from facility",
        "tag": "InTransit",
        "subtag": "InTransit_007",
        "subtag_message": "Departure Scan",
        "checkpoint_time": "2024-03-05T08:00:00",
        "created_at": "2024-03-05T15:30:00+00:00",
    }
    checkpoint.update(overrides)
    return checkpoint


def _tracking(*checkpoints: Any) -> dict[str, Any]:
    return {
        "id": "5b74f4958776db0e00b6f5ed",
        "slug": "ups",
        "tracking_number": "1ZAFTER",
        "tag": "InTransit",
        "checkpoints": list(checkpoints),
    }


def test_local_checkpoint_time_resolves_from_the_city_row() -> None:
    # El Paso observes Mountain time though Texas is Central: the city row wins, as in dbt.
    [event] = _run({"meta": {"code": 200}, "data": {"tracking": _tracking(_checkpoint())}}).events
    assert (event.time_zone, event.time_zone_source) == ("America/Denver", "location_city")
    assert event.occurred_at_utc == "2024-03-05T15:00:00Z"
    assert (event.location.country, event.carrier, event.source_channel) == (
        "US",
        "ups",
        "aggregator",
    )


def test_checkpoint_with_offset_wins_and_date_only_has_no_instant() -> None:
    doc = {"meta": {"code": 200}, "data": _tracking(
        _checkpoint(checkpoint_time="2024-03-05T08:00:00+01:00"),
        _checkpoint(checkpoint_time="2024-03-06"),
    )}  # fmt: skip
    with_offset, date_only = _run(doc).events
    assert (with_offset.occurred_at_utc, with_offset.time_zone_source) == (
        "2024-03-05T07:00:00Z",
        "payload",
    )
    assert (date_only.occurred_at_utc, date_only.time_zone_source) == (None, "no_time")


def test_subtag_then_tag_and_exceptions() -> None:
    doc = {"event": "tracking_update", "msg": _tracking(
        _checkpoint(tag="Exception", subtag="Exception_003", subtag_message="Customer refused"),
        _checkpoint(tag="Exception", subtag="Exception_999"),
        _checkpoint(tag="Delivered", subtag="Delivered_001"),
        _checkpoint(tag="Teleported", subtag="Teleported_001"),
    )}  # fmt: skip
    events = _run(doc, "webhook").events
    assert [(e.source_code, e.milestone, e.is_exception) for e in events] == [
        ("Exception_003", "refused", True),
        ("Exception", "delayed", True),
        ("Delivered", "delivered", False),
        ("Teleported_001", "unmapped", False),
    ]
    assert events[0].reason_description == "Customer refused"


def test_meta_error_keeps_aftership_code_and_message() -> None:
    doc = {
        "meta": {"code": 4004, "message": "Tracking does not exist.", "type": "NotFound"},
        "data": {},
    }
    [error] = _run(doc).errors
    assert (error.carrier_error_code, error.carrier_error_message) == (
        "4004",
        "Tracking does not exist.",
    )


def test_bad_checkpoint_names_its_field() -> None:
    result = _run({"data": {"trackings": [_tracking(_checkpoint(tag=None), _checkpoint())]}})
    assert len(result.events) == 1
    [error] = result.errors
    assert (error.path, error.field) == ("$.data.trackings[0].checkpoints[0]", "tag")


@pytest.mark.parametrize(
    "doc",
    [{}, {"meta": {"code": 200}, "data": {}}, {"event": "order_update", "msg": {}}, 42],
    ids=["empty", "no-tracking", "other-webhook", "number"],
)
def test_document_of_another_kind_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(doc)
    assert "not an AfterShip tracking document" in str(caught.value)
