"""UPS Track API v1 normalisation against the real samples and hostile input."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest

from waybill.connectors.carriers import DocumentError, NormalizeResult, normalize_result
from waybill.milestones import EXCEPTIONS, MILESTONES, UNMAPPED

if TYPE_CHECKING:
    from pathlib import Path


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SAMPLES = ("ups__test_tracking__TrackingResponseJSON.json", "ups__schema_tracking_response.json")


def count_ups_events(doc: dict[str, Any]) -> int:
    """Count events independently: every activity and every deliveryDate entry."""
    return sum(
        len(package.get("activity") or []) + len(package.get("deliveryDate") or [])
        for shipment in doc["trackResponse"]["shipment"]
        for package in shipment.get("package") or []
    )


def _run(doc: Any) -> NormalizeResult:
    return normalize_result(doc, "ups", source="test.json")


def _activity(**overrides: Any) -> dict[str, Any]:
    activity = {
        "date": "20220126",
        "time": "163000",
        "status": {"type": "D", "code": "F4", "description": "DELIVERED "},
        "location": {"address": {"city": "PARAMUS", "stateProvince": "NJ", "countryCode": "US"}},
    }
    activity.update(overrides)
    return activity


def _doc(*activities: Any) -> dict[str, Any]:
    return {
        "trackResponse": {
            "shipment": [
                {
                    "inquiryNumber": "1ZINQ",
                    "package": [{"trackingNumber": "1ZPKG", "activity": list(activities)}],
                }
            ]
        }
    }


@pytest.mark.parametrize("name", SAMPLES)
def test_corpus_sample_every_event_accounted_for(corpus: Path, name: str) -> None:
    doc = _load(corpus / "carriers" / name)
    result = _run(doc)
    assert len(result.events) + len(result.errors) == count_ups_events(doc)
    allowed = {*MILESTONES, *EXCEPTIONS, UNMAPPED}
    assert {event.milestone for event in result.events} <= allowed
    assert {event.classifier for event in result.events} <= {"actual", "estimated", "planned"}


def test_schema_sample_delivered_event(corpus: Path) -> None:
    result = _run(_load(corpus / "carriers" / "ups__schema_tracking_response.json"))
    assert result.errors == []
    delivered = [e for e in result.events if e.source_code == "D"]
    assert len(delivered) == 1
    event = delivered[0]
    assert event.tracking_number == "1Z1442YY7229014688"
    assert event.milestone == "delivered"
    assert event.classifier == "actual"
    # No gmtDate/gmtTime/gmtOffset in the sample: the zone comes from the state (NJ), as in dbt.
    assert event.occurred_at_local == "20220126T163000"
    assert event.occurred_at_utc == "2022-01-26T21:30:00Z"
    assert (event.time_zone, event.time_zone_source) == ("America/New_York", "location_state")
    assert event.location.city == "PARAMUS"
    assert event.location.postal_code == "07652"
    label = next(e for e in result.events if e.source_code == "M")
    assert label.milestone == "tendered"
    estimate = next(e for e in result.events if e.source_code == "DEL")
    assert (estimate.milestone, estimate.occurred_at_local) == ("delivered", "20220126T163000")


def test_test_sample_customs_release_and_placeholder_date(corpus: Path) -> None:
    result = _run(_load(corpus / "carriers" / "ups__test_tracking__TrackingResponseJSON.json"))
    [event] = result.events
    assert (event.source_code, event.milestone) == ("X:SR", "in_transit")
    assert event.reason_code == "SR"
    # The sample's deliveryDate is the schema placeholder "string": an error, not a crash.
    [error] = result.errors
    assert error.path == "$.trackResponse.shipment[0].package[0].deliveryDate[0]"
    assert error.field == "date"


def test_gmt_fields_give_utc() -> None:
    doc = _doc(_activity(gmtDate="20220126", gmtTime="213000", gmtOffset="-05:00"))
    [event] = _run(doc).events
    assert event.occurred_at_utc == "2022-01-26T21:30:00Z"
    assert event.utc_offset == "-05:00"
    assert event.occurred_at_local == "20220126T163000"


@pytest.mark.parametrize("offset", ["-05:00", "-0500", "-05.00"])
def test_gmt_offset_alone_shifts_local_time(offset: str) -> None:
    [event] = _run(_doc(_activity(gmtOffset=offset))).events
    assert event.occurred_at_utc == "2022-01-26T21:30:00Z"
    assert event.utc_offset == "-05:00"
    assert event.time_zone_source == "payload"


def test_gmt_time_with_dropped_leading_zero() -> None:
    [event] = _run(_doc(_activity(gmtDate="20210210", gmtTime="74700"))).events
    assert event.occurred_at_utc == "2021-02-10T07:47:00Z"


def test_unknown_type_is_unmapped_not_dropped() -> None:
    [event] = _run(_doc(_activity(status={"type": "ZZ", "code": "Q1"}))).events
    assert (event.milestone, event.source_code) == ("unmapped", "ZZ:Q1")


def test_tracking_number_falls_back_to_inquiry_number() -> None:
    doc = _doc(_activity())
    del doc["trackResponse"]["shipment"][0]["package"][0]["trackingNumber"]
    [event] = _run(doc).events
    assert event.tracking_number == "1ZINQ"


def test_event_id_is_stable_across_schema_drift() -> None:
    first = _run(_doc(_activity())).events[0]
    drifted = _activity()
    drifted["newField"] = {"anything": 1}
    second = _run(_doc(drifted)).events[0]
    assert first.event_id == second.event_id
    other = _run(_doc(_activity(time="163001"))).events[0]
    assert other.event_id != first.event_id


@pytest.mark.parametrize(
    ("activity", "field", "message"),
    [
        (_activity(date=None), "date", "is missing"),
        (_activity(date=20220126), "date", "must be string"),
        (_activity(date="2022-01-26"), "date", "YYYYMMDD"),
        (_activity(date="20221345"), "date", "calendar date"),
        (_activity(time="25:00"), "time", "HHMMSS"),
        (_activity(status="D"), "status", "must be object"),
        (_activity(status={"code": "F4"}), "status.type", "is missing"),
        (_activity(date="2022\x0001"), "date", "NUL"),
        (_activity(date="'; DROP TABLE raw.events; --"), "date", "YYYYMMDD"),
        (_activity(gmtOffset="EST"), "gmtOffset", "offset"),
        (
            _activity(location={"address": {"city": ["x"]}}),
            "location.address.city",
            "must be string",
        ),
    ],
)
def test_malformed_activity_names_the_field(activity: Any, field: str, message: str) -> None:
    doc = _doc(activity, _activity())
    result = _run(doc)
    assert len(result.events) == 1, "the good activity after the bad one still comes out"
    [error] = result.errors
    assert error.source == "test.json"
    assert error.path == "$.trackResponse.shipment[0].package[0].activity[0]"
    assert error.field == field
    assert message in error.message
    assert str(error).startswith("test.json: $.trackResponse.shipment[0].package[0].activity[0]")


def test_activity_that_is_not_an_object() -> None:
    result = _run(_doc("not an activity", _activity()))
    assert len(result.events) == 1
    assert result.errors[0].path.endswith("activity[0]")


def test_hostile_long_description_is_kept_verbatim() -> None:
    text = "<script>alert(1)</script>" + "x" * 10_000
    [event] = _run(_doc(_activity(status={"type": "I", "description": text}))).events
    assert event.source_description == text
    assert event.milestone == "in_transit"


def test_broken_track_response_container_is_one_error() -> None:
    result = _run({"trackResponse": {"shipment": {}}})
    assert result.events == []
    [error] = result.errors
    assert (error.path, error.field) == ("$", "trackResponse.shipment")


@pytest.mark.parametrize(
    "doc",
    [[], None, {}, {"output": {"completeTrackResults": []}}, {"response": {}}],
    ids=["array", "null", "empty", "fedex", "response-without-errors"],
)
def test_document_that_is_not_ups_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(copy.deepcopy(doc))
    assert "not a UPS Track API response" in str(caught.value)


def test_warnings_only_not_found_is_a_clean_error() -> None:
    # Tracking.yaml: a Shipment may carry warnings[] of {code, message}; an unknown number
    # answers with that warning and no package.
    doc = {
        "trackResponse": {
            "shipment": [
                {
                    "inquiryNumber": "1Z0000000000000000",
                    "warnings": [{"code": "TW0001", "message": "Tracking Information Not Found"}],
                }
            ]
        }
    }
    result = _run(doc)
    assert result.events == []
    [error] = result.errors
    assert error.path == "$.trackResponse.shipment[0].warnings[0]"
    assert (error.carrier_error_code, error.carrier_error_message) == (
        "TW0001",
        "Tracking Information Not Found",
    )
    assert "TW0001: Tracking Information Not Found" in str(error)


def test_error_envelope_keeps_each_ups_code_and_message() -> None:
    # Tracking.yaml ErrorResponse: {"response": {"errors": [{"code", "message"}]}}.
    doc = {
        "response": {
            "errors": [
                {"code": "151018", "message": "Invalid tracking number"},
                {"code": "250003", "message": "Invalid Access License number"},
            ]
        }
    }
    result = _run(doc)
    assert result.events == []
    assert [(e.path, e.carrier_error_code, e.carrier_error_message) for e in result.errors] == [
        ("$.response.errors[0]", "151018", "Invalid tracking number"),
        ("$.response.errors[1]", "250003", "Invalid Access License number"),
    ]
