"""EasyPost trackers and webhook events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from waybill.connectors.carriers import normalize_result

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
