"""Shippo tracking: Track objects, ``track_updated`` webhooks, substatus codes, other documents.

The examples follow Shippo's Tracking API reference and webhook guide: a Track has ``carrier``,
``tracking_number``, ``eta``, ``tracking_status`` (the newest) and ``tracking_history[]`` of
``{object_id, status, status_details, status_date, substatus: {code, text, action_required},
location: {city, state, zip, country}}``; the ``track_updated`` webhook posts
``{"event": "track_updated", "test": false, "data": {Track}}``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from waybill.connectors.carriers import DocumentError, NormalizeResult, normalize_result


def _run(doc: Any, channel: str = "api") -> NormalizeResult:
    return normalize_result(doc, "shippo", source="shippo.json", source_channel=channel)


def _status(object_id: str, status: str, date: str, substatus: str | None = None) -> dict[str, Any]:
    return {
        "object_id": object_id,
        "status": status,
        "status_details": f"{status} details",
        "status_date": date,
        "substatus": None if substatus is None else {"code": substatus, "text": substatus},
        "location": {"city": "San Francisco", "state": "CA", "zip": "94103", "country": "US"},
    }


def _track() -> dict[str, Any]:
    history = [
        _status("a1", "PRE_TRANSIT", "2016-07-21T15:33:14Z"),
        _status("a2", "TRANSIT", "2016-07-22T10:00:00Z", "package_accepted"),
        _status("a3", "DELIVERED", "2016-07-23T00:00:00Z"),
    ]
    return {
        "carrier": "usps",
        "tracking_number": "9205590164917312751089",
        "eta": "2016-07-23T00:00:00Z",
        "servicelevel": {"token": "usps_priority", "name": "Priority Mail"},
        "tracking_status": copy.deepcopy(history[-1]),
        "tracking_history": history,
    }


def test_history_events_and_eta() -> None:
    result = _run(_track())
    assert result.errors == []
    assert [(e.source_code, e.milestone) for e in result.events] == [
        ("PRE_TRANSIT", "tendered"),
        ("TRANSIT:package_accepted", "picked_up"),
        ("DELIVERED", "delivered"),
        ("eta", "delivered"),
    ]
    assert result.events[-1].classifier == "estimated"
    assert {e.carrier for e in result.events} == {"usps"}
    assert result.events[0].source_event_id == "a1"


def test_webhook_and_pull_give_the_same_event_ids() -> None:
    pulled = _run(_track(), "api").events
    pushed = _run({"event": "track_updated", "test": False, "data": _track()}, "webhook").events
    assert [e.event_id for e in pulled] == [e.event_id for e in pushed]
    assert {e.source_channel for e in pushed} == {"webhook"}


def test_latest_status_not_in_history_is_an_event_too() -> None:
    track = _track()
    track["tracking_status"] = _status("a4", "FAILURE", "2016-07-24T08:00:00Z", "package_damaged")
    events = _run(track).events
    failure = next(e for e in events if e.source_event_id == "a4")
    assert (failure.milestone, failure.is_exception, failure.reason_code) == (
        "damaged",
        True,
        "package_damaged",
    )


def test_unknown_substatus_falls_back_to_status_and_bad_date_is_named() -> None:
    track = _track()
    track["tracking_history"][1]["substatus"]["code"] = "brand_new_substatus"
    track["tracking_history"][0]["status_date"] = "July 21st"
    result = _run(track)
    assert result.events[0].source_code == "TRANSIT"
    [error] = result.errors
    assert (error.path, error.field) == ("$.tracking_history[0]", "status_date")


@pytest.mark.parametrize(
    "doc",
    [{}, {"event": "transaction_created", "data": {}}, [{"x": 1}], {"tracking_number": "1"}],
    ids=["empty", "other-webhook", "junk-array", "no-status"],
)
def test_document_of_another_kind_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(doc)
    assert "not a Shippo tracking document" in str(caught.value)
