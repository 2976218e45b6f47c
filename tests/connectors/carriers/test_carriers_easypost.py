"""EasyPost trackers and webhook events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from waybill.connectors.carriers import DocumentError, normalize_result

if TYPE_CHECKING:
    from pathlib import Path


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def count_easypost_events(doc: dict[str, Any]) -> int:
    """Count events independently: tracking details plus one estimate when present."""
    tracker = doc["result"] if doc.get("object") == "Event" else doc
    return len(tracker["tracking_details"]) + (1 if tracker.get("est_delivery_date") else 0)


@pytest.mark.parametrize(
    "name", ["fixtures__event-body_webhook.json", "trackers__trackers-retrieve.json"]
)
def test_corpus_files(corpus: Path, name: str) -> None:
    doc = _load(corpus / "carriers" / name)
    result = normalize_result(doc, "easypost", source=name)
    assert result.errors == []
    assert len(result.events) == count_easypost_events(doc)


def test_webhook_events(corpus: Path) -> None:
    doc = _load(corpus / "carriers" / "fixtures__event-body_webhook.json")
    events = normalize_result(doc, "easypost", source="hook").events
    assert {e.carrier for e in events} == {"fedex"}
    assert events[0].milestone == "tendered"
    assert events[-1].classifier == "estimated"
    assert (events[-1].milestone, events[-1].occurred_at_utc) == (
        "delivered",
        "2024-08-05T00:00:00Z",
    )


def test_missing_datetime_names_the_field() -> None:
    doc = {
        "object": "Tracker",
        "tracking_code": "T1",
        "tracking_details": [{"status": "delivered"}],
    }
    [error] = normalize_result(doc, "easypost", source="t").errors
    assert (error.path, error.field, error.message) == (
        "$.tracking_details[0]",
        "datetime",
        "is missing",
    )


def _tracker() -> dict[str, Any]:
    # An EasyPost Tracker as in its API reference (GET /v2/trackers/{id}).
    return {
        "id": "trk_1",
        "object": "Tracker",
        "tracking_code": "9400110898825022579493",
        "carrier": "USPS",
        "status": "in_transit",
        "est_delivery_date": None,
        "tracking_details": [
            {
                "object": "TrackingDetail",
                "message": "Arrived at USPS Facility",
                "status": "in_transit",
                "status_detail": "arrived_at_facility",
                "datetime": "2024-03-04T22:15:00Z",
                "source": "USPS",
                "carrier_code": "10",
                "tracking_location": {
                    "city": "DENVER",
                    "state": "CO",
                    "country": "US",
                    "zip": "80202",
                },
            }
        ],
    }


def test_tracker_pulled_and_tracker_updated_webhook_have_the_same_ids() -> None:
    pulled = normalize_result(_tracker(), "easypost", source_channel="api").events
    hook = {"object": "Event", "description": "tracker.updated", "result": _tracker()}
    pushed = normalize_result(hook, "easypost", source_channel="webhook").events
    listed = normalize_result({"trackers": [_tracker()]}, "easypost").events
    assert (
        [e.event_id for e in pulled] == [e.event_id for e in pushed] == [e.event_id for e in listed]
    )
    assert (pulled[0].carrier, pushed[0].source_channel) == ("usps", "webhook")


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"object": "Event", "description": "batch.updated", "result": {}},
        [{"trackingNumber": "9400"}, 3],
        {"trackingNumber": "9400", "trackingEvents": []},
        {"shipments": [{"id": "1", "events": []}]},
        {"carrier": "usps", "tracking_number": "1", "tracking_history": []},
        {"meta": {"code": 200}, "data": {"tracking": {"tracking_number": "1", "checkpoints": []}}},
    ],
    ids=["empty", "other-event", "junk-array", "usps", "dhl", "shippo", "aftership"],
)
def test_document_of_another_kind_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        normalize_result(doc, "easypost", source="x.json")
    assert "not an EasyPost tracker document" in str(caught.value)
