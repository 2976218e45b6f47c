"""FedEx Track API normalisation against the real samples and malformed input."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from waybill.connectors.carriers import DocumentError, NormalizeResult, normalize_result
from waybill.milestones import EXCEPTIONS, MILESTONES, UNMAPPED

if TYPE_CHECKING:
    from pathlib import Path


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SAMPLES = ("fedex__test_tracking__TrackingResponse.json", "fedex__schema_tracking_response.json")


def count_fedex_errors(doc: dict[str, Any]) -> int:
    """Count track results that carry a FedEx ``error`` (each is one error, not silence)."""
    return sum(
        1
        for entry in doc["output"]["completeTrackResults"]
        for result in entry.get("trackResults") or []
        if result.get("error")
    )


def count_fedex_events(doc: dict[str, Any]) -> int:
    """Count events independently, by the rules in the fedex module docstring."""
    total = 0
    for entry in doc["output"]["completeTrackResults"]:
        for result in entry.get("trackResults") or []:
            scans = result.get("scanEvents") or []
            total += len(scans) + len(result.get("dateAndTimes") or [])
            window = (result.get("estimatedDeliveryTimeWindow") or {}).get("window") or {}
            total += 1 if window.get("ends") or window.get("begins") else 0
            latest = result.get("latestStatusDetail") or {}
            total += 1 if not scans and (latest.get("code") or latest.get("derivedCode")) else 0
    return total


def _run(doc: Any) -> NormalizeResult:
    return normalize_result(doc, "fedex", source="fx.json")


def _doc(scans: list[Any], **result: Any) -> dict[str, Any]:
    track = {
        "trackingNumberInfo": {"trackingNumber": "794600000000"},
        "scanEvents": scans,
        **result,
    }
    return {
        "output": {
            "completeTrackResults": [{"trackingNumber": "794600000000", "trackResults": [track]}]
        }
    }


def _scan(**overrides: Any) -> dict[str, Any]:
    scan = {
        "date": "2024-03-05T14:12:00-05:00",
        "eventType": "DL",
        "derivedStatusCode": "DL",
        "eventDescription": "Delivered",
        "scanLocation": {"city": "NEW YORK", "stateOrProvinceCode": "NY", "countryCode": "US"},
    }
    scan.update(overrides)
    return scan


@pytest.mark.parametrize("name", SAMPLES)
def test_corpus_sample_every_event_accounted_for(corpus: Path, name: str) -> None:
    doc = _load(corpus / "carriers" / name)
    result = _run(doc)
    assert len(result.errors) == count_fedex_errors(doc)
    assert all(e.carrier_error_code for e in result.errors)
    assert len(result.events) == count_fedex_events(doc)
    assert {e.milestone for e in result.events} <= {*MILESTONES, *EXCEPTIONS, UNMAPPED}


def test_corpus_sample_events(corpus: Path) -> None:
    result = _run(_load(corpus / "carriers" / SAMPLES[0]))
    by_code = {event.source_code: event for event in result.events}
    pickup = by_code["PU"]
    assert pickup.tracking_number == "128667043726"
    assert pickup.milestone == "picked_up"
    assert pickup.occurred_at_utc == "2018-02-02T19:01:00Z"
    assert pickup.occurred_at_local == "2018-02-02T12:01:00-07:00"
    assert pickup.utc_offset == "-07:00"
    assert (pickup.reason_code, pickup.reason_description) == (
        "A25",
        "Package available for clearance",
    )
    assert pickup.location.city == "SEATTLE"
    delivered = by_code["ACTUAL_DELIVERY"]
    assert (delivered.milestone, delivered.classifier) == ("delivered", "actual")
    # "2007-09-27T00:00:00" has no offset: kept as sent, not guessed into UTC.
    assert (delivered.occurred_at_local, delivered.occurred_at_utc) == ("2007-09-27T00:00:00", None)
    estimate = by_code["ESTIMATED_DELIVERY"]
    assert (estimate.milestone, estimate.classifier) == ("delivered", "estimated")
    assert estimate.occurred_at_utc == "2021-10-15T06:00:00Z"


def test_dl_scan_is_delivered_in_utc() -> None:
    [event] = _run(_doc([_scan()])).events
    assert (event.source_code, event.milestone, event.classifier) == ("DL", "delivered", "actual")
    assert event.occurred_at_utc == "2024-03-05T19:12:00Z"


def test_derived_code_used_when_event_type_unknown() -> None:
    [event] = _run(_doc([_scan(eventType="ZZ", derivedStatusCode="IT")])).events
    assert (event.source_code, event.milestone) == ("IT", "in_transit")


def test_an_exception_code_refines_the_scan() -> None:
    """FedEx reports damage as a delivery exception (DE) whose exceptionCode is DMG: damaged, not
    delayed; a DE with another exception code stays a delivery exception."""
    damaged = _scan(eventType="DE", derivedStatusCode="DE", exceptionCode="DMG")
    weather = _scan(eventType="DE", derivedStatusCode="DE", exceptionCode="A12")
    events = _run(_doc([damaged, weather])).events
    assert [(e.milestone, e.source_code, e.is_exception) for e in events] == [
        ("damaged", "DE:DMG", True),
        ("delayed", "DE", True),
    ]


def test_unknown_codes_are_unmapped() -> None:
    [event] = _run(_doc([_scan(eventType="ZZ", derivedStatusCode=None)])).events
    assert (event.source_code, event.milestone) == ("ZZ", "unmapped")


def test_date_types_get_classifiers() -> None:
    dates = [
        {"type": "ESTIMATED_DELIVERY", "dateTime": "2024-03-06T20:00:00-05:00"},
        {"type": "COMMITMENT", "dateTime": "2024-03-06T20:00:00-05:00"},
        {"type": "ACTUAL_PICKUP", "dateTime": "2024-03-01T10:00:00-05:00"},
    ]
    result = _run(_doc([], dateAndTimes=dates))
    assert [(e.source_code, e.milestone, e.classifier) for e in result.events] == [
        ("ESTIMATED_DELIVERY", "delivered", "estimated"),
        ("COMMITMENT", "delivered", "planned"),
        ("ACTUAL_PICKUP", "picked_up", "actual"),
    ]


def test_latest_status_stands_in_when_there_are_no_scans() -> None:
    result = _run(_doc([], latestStatusDetail={"code": "OC", "description": "Label created"}))
    [event] = result.events
    assert (event.milestone, event.occurred_at_utc, event.occurred_at_local) == (
        "tendered",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("scan", "field", "message"),
    [
        (_scan(date=None), "date", "is missing"),
        (_scan(date=1709662320), "date", "must be string"),
        (_scan(date="05/03/2024 14:12"), "date", "ISO-8601"),
        (_scan(date="2024-02-30T10:00:00Z"), "date", "valid date-time"),
        (_scan(date="2024-03-05T10:00:00+25:00"), "date", "valid date-time"),
        (_scan(eventType=None, derivedStatusCode=None), "eventType", "is missing"),
        (_scan(eventType={"code": "DL"}), "eventType", "must be string"),
        (_scan(scanLocation="NEW YORK"), "scanLocation", "must be object"),
        (_scan(eventDescription="De\x00livered"), "eventDescription", "NUL"),
    ],
)
def test_malformed_scan_names_the_field(scan: Any, field: str, message: str) -> None:
    result = _run(_doc([scan, _scan()]))
    assert len(result.events) == 1
    [error] = result.errors
    assert error.path == "$.output.completeTrackResults[0].trackResults[0].scanEvents[0]"
    assert error.field == field
    assert message in error.message


def test_wrong_document_shape_is_one_error() -> None:
    result = _run({"output": {"completeTrackResults": "nope"}})
    assert result.events == []
    [error] = result.errors
    assert error.field == "output.completeTrackResults"


def test_error_envelope_keeps_each_fedex_code_and_message() -> None:
    # FedEx Track API error response: {"transactionId", "errors": [{"code", "message"}]}.
    doc = {
        "transactionId": "624deea6-b709-470c-8c39-4b5511281492",
        "errors": [
            {"code": "TRACKING.TRACKINGNUMBER.EMPTY", "message": "Please provide tracking number."}
        ],
    }
    result = _run(doc)
    assert result.events == []
    [error] = result.errors
    assert (error.path, error.carrier_error_code, error.carrier_error_message) == (
        "$.errors[0]",
        "TRACKING.TRACKINGNUMBER.EMPTY",
        "Please provide tracking number.",
    )


def test_not_found_track_result_is_an_error_not_silence() -> None:
    error = {
        "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
        "message": "Tracking number cannot be found.",
    }
    result = _run(_doc([], error=error))
    assert result.events == []
    [found] = result.errors
    assert found.path == "$.output.completeTrackResults[0].trackResults[0].error"
    assert found.carrier_error_code == "TRACKING.TRACKINGNUMBER.NOTFOUND"


def test_one_number_reused_by_two_packages_is_kept_apart() -> None:
    # trackingNumberInfo.trackingNumberUniqueId tells the packages apart (FedEx Track API).
    def result(unique_id: str, scans: list[Any]) -> dict[str, Any]:
        info = {"trackingNumber": "123456789012", "trackingNumberUniqueId": unique_id}
        return {"trackingNumberInfo": info, "scanEvents": scans}

    picked = _scan(eventType="PU", derivedStatusCode="PU", date="2024-03-01T09:00:00-05:00")
    doc = {
        "output": {
            "completeTrackResults": [
                {
                    "trackingNumber": "123456789012",
                    "trackResults": [
                        result("12029~123456789012~FDEG", [picked, _scan()]),
                        result("12030~123456789012~FDEG", [picked]),
                    ],
                }
            ]
        }
    }
    events = _run(doc).events
    by_package: dict[str | None, list[str]] = {}
    for event in events:
        by_package.setdefault(event.package_unique_id, []).append(event.milestone)
    assert by_package == {
        "12029~123456789012~FDEG": ["picked_up", "delivered"],
        "12030~123456789012~FDEG": ["picked_up"],
    }
    # The same scan on the two packages is two events.
    assert events[0].event_id != events[2].event_id


@pytest.mark.parametrize(
    "doc",
    [{}, [], {"trackResponse": {}}, {"transactionId": "x"}],
    ids=["empty", "array", "ups", "no-output"],
)
def test_document_that_is_not_fedex_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(doc)
    assert "not a FedEx Track API response" in str(caught.value)
