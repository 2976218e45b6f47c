"""DCSA Track & Trace normalisation: every v3 example, retractions, classifiers, v2 events."""

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


def _examples(corpus: Path) -> list[Path]:
    paths = sorted((corpus / "dcsa" / "examples_extracted").glob("*.json"))
    assert paths, "DCSA examples should be in the corpus"
    return paths


def _run(doc: Any) -> NormalizeResult:
    return normalize_result(doc, "dcsa", source="dcsa.json")


def test_every_example_normalises_with_one_output_per_event(corpus: Path) -> None:
    for path in _examples(corpus):
        doc = _load(path)
        expected = len(doc) if isinstance(doc, list) else 1
        result = _run(doc)
        assert result.errors == [], path.name
        assert len(result.events) == expected, path.name
        assert {e.milestone for e in result.events} <= {*MILESTONES, *EXCEPTIONS, UNMAPPED}


def test_retracted_event_is_kept_and_flagged(corpus: Path) -> None:
    name = "tnt_v3__GET_v3_events_eventID__200__retractedTransportEventExample.json"
    [event] = _run(_load(corpus / "dcsa" / "examples_extracted" / name)).events
    assert event.is_retraction is True
    assert event.retracts_event_id == "957e4966-dad0-4111-9f8f-fb7216c43907"
    assert event.source_event_id == "2239d040-78c9-4172-8863-89428af41a0e"
    assert event.event_id.startswith("cma:")
    assert event.milestone == "unmapped"
    assert event.carrier == "cma"
    assert event.occurred_at_utc == "2022-09-19T23:11:00Z"


def test_list_with_retraction_and_estimate(corpus: Path) -> None:
    name = "tnt_v3__GET_v3_events__200__transportEventListExample.json"
    retraction, arrival = _run(_load(corpus / "dcsa" / "examples_extracted" / name)).events
    assert retraction.is_retraction and not arrival.is_retraction
    assert (arrival.source_code, arrival.milestone, arrival.classifier) == (
        "TRANSPORT:ARRI",
        "in_transit",
        "estimated",
    )
    assert arrival.occurred_at_local == "2022-11-12T07:41:00+08:30"
    assert arrival.occurred_at_utc == "2022-11-11T23:11:00Z"
    assert arrival.utc_offset == "+08:30"
    assert (arrival.location.unlocode, arrival.location.country) == ("NLRAM", "NL")
    assert arrival.tracking_number == "ABC123059"
    assert arrival.carrier == "msk"


def test_drop_and_empty_pick(corpus: Path) -> None:
    name = "tnt_v3__GET_v3_events__200__dropPickExample.json"
    drop, pick = _run(_load(corpus / "dcsa" / "examples_extracted" / name)).events
    assert (drop.source_code, drop.milestone, drop.classifier) == (
        "EQUIPMENT:DROP",
        "delivered",
        "actual",
    )
    assert (pick.source_code, pick.milestone) == ("EQUIPMENT:PICK:EMPTY", "unmapped")
    # No booking on the empty pick: the container is what there is to track.
    assert pick.tracking_number == "APNR7744962"


def test_shipment_event_uses_document_type(corpus: Path) -> None:
    name = "tnt_v3__GET_v3_events_eventID__200__shipmentEventExample.json"
    [event] = _run(_load(corpus / "dcsa" / "examples_extracted" / name)).events
    assert (event.source_code, event.milestone) == ("SHIPMENT:ISSU:TRD", "picked_up")
    assert event.reason_description == "All good"


def _v2_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "eventID": "e-1",
        "eventType": "EQUIPMENT",
        "eventCreatedDateTime": "2021-01-09T14:12:56+01:00",
        "eventClassifierCode": "PLN",
        "eventDateTime": "2021-01-10T08:00:00Z",
        "equipmentEventTypeCode": "GTIN",
        "emptyIndicatorCode": "LADEN",
        "equipmentReference": "MSKU1234567",
        "documentReferences": [{"documentReferenceType": "BKG", "documentReferenceValue": "BK1"}],
        "eventLocation": {
            "UNLocationCode": "DEHAM",
            "address": {"city": "Hamburg", "postCode": "20457"},
        },
    }
    event.update(overrides)
    return event


def test_v2_flat_event() -> None:
    [event] = _run([_v2_event()]).events
    assert (event.source_code, event.milestone, event.classifier) == (
        "EQUIPMENT:GTIN",
        "in_transit",
        "planned",
    )
    assert event.tracking_number == "BK1"
    assert event.source_event_id == "e-1"
    assert event.carrier == "dcsa"
    assert (event.location.city, event.location.postal_code, event.location.country) == (
        "Hamburg",
        "20457",
        "DE",
    )


def test_carrier_code_override() -> None:
    result = normalize_result([_v2_event()], "dcsa", source="x", carrier_code="maersk")
    assert result.events[0].carrier == "maersk"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"eventClassifierCode": "XXX"}, "eventClassifierCode", "unknown classifier"),
        ({"eventClassifierCode": None}, "eventClassifierCode", "is missing"),
        ({"eventDateTime": "yesterday"}, "eventDateTime", "ISO-8601"),
        ({"eventDateTime": 20210110}, "eventDateTime", "must be string"),
        ({"equipmentEventTypeCode": None}, "equipmentEventTypeCode", "is missing"),
        (
            {"documentReferences": None, "equipmentReference": None},
            "relatedDocumentReferences",
            "no booking",
        ),
    ],
)
def test_malformed_event_names_the_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    result = _run([_v2_event(**overrides), _v2_event()])
    assert len(result.events) == 1
    [error] = result.errors
    assert (error.path, error.field) == ("$[0]", field)
    assert message in error.message


def test_v3_event_without_payload_or_retraction() -> None:
    result = _run({"metadata": {"eventID": "x", "eventType": "TRANSPORT"}})
    [error] = result.errors
    assert (error.path, error.field) == ("$", "payload")


@pytest.mark.parametrize("doc", ["events", {}, [1, "x", None], {"trackResponse": {}}])
def test_document_that_is_not_dcsa_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(doc)
    assert "not a DCSA Track & Trace document" in str(caught.value)


def _v300_event(**overrides: Any) -> dict[str, Any]:
    # DCSA TNT 3.0.0 as released (dcsaorg Conformance-Gateway tnt/v300 model): the
    # classification, the details objects and document references as {typeCode, reference}.
    event = {
        "eventID": "3910eb91-8791-4699-8029-8bba8cedb6f5",
        "eventClassification": {
            "eventTypeCode": "EQUIPMENT",
            "eventClassifierCode": "ACT",
            "equipmentEventTypeCode": "LOAD",
        },
        "eventDateTime": "2025-01-14T09:21:00+01:00",
        "eventUpdatedDateTime": "2025-01-14T09:25:00+01:00",
        "eventLocation": {
            "locationName": "Port of Rotterdam",
            "UNLocationCode": "NLRTM",
            "address": {"city": "Rotterdam", "postCode": "3089 JW", "countryCode": "NL"},
        },
        "relatedDocumentReferences": [{"typeCode": "BKG", "reference": "BKG123456"}],
        "shipmentReferences": [{"typeCode": "EQ", "reference": "MSCU1234567"}],
        "transportDetails": {"delayReasonCode": "WEA", "changeRemark": "Bad weather"},
        "equipmentDetails": {
            "equipmentReference": "MSCU1234567",
            "ISOEquipmentCode": "22GP",
            "emptyIndicatorCode": "LADEN",
        },
    }
    event.update(overrides)
    return event


def test_v300_events_document() -> None:
    shipment = _v300_event(
        eventID="b1",
        eventClassification={
            "eventTypeCode": "SHIPMENT",
            "eventClassifierCode": "ACT",
            "shipmentEventTypeCode": "ISSU",
        },
        shipmentDetails={
            "documentReference": {"typeCode": "TRD", "reference": "TRD9"},
            "reason": "ok",
        },
        relatedDocumentReferences=None,
    )
    result = _run({"events": [_v300_event(), shipment]})
    assert result.errors == []
    load, issued = result.events
    assert (load.source_code, load.milestone, load.classifier) == (
        "EQUIPMENT:LOAD",
        "in_transit",
        "actual",
    )
    assert (load.tracking_number, load.source_event_id) == (
        "BKG123456",
        "3910eb91-8791-4699-8029-8bba8cedb6f5",
    )
    assert (load.location.unlocode, load.location.city, load.location.country) == (
        "NLRTM",
        "Rotterdam",
        "NL",
    )
    assert (load.occurred_at_utc, load.reason_code, load.reason_description) == (
        "2025-01-14T08:21:00Z",
        "WEA",
        "Bad weather",
    )
    assert load.path == "$.events[0]"
    assert (issued.source_code, issued.tracking_number, issued.reason_description) == (
        "SHIPMENT:ISSU:TRD",
        "TRD9",
        "ok",
    )


def test_v300_retracted_event_is_kept_and_flagged() -> None:
    [event] = _run({"events": [_v300_event(isRetracted=True)]}).events
    assert (event.is_retraction, event.retracts_event_id, event.milestone) == (
        True,
        "3910eb91-8791-4699-8029-8bba8cedb6f5",
        "unmapped",
    )


def test_v300_bad_event_names_its_field_and_the_rest_goes_on() -> None:
    bad = _v300_event(
        eventClassification={"eventTypeCode": "EQUIPMENT", "eventClassifierCode": "ACT"}
    )
    result = _run({"events": [bad, _v300_event()]})
    assert len(result.events) == 1
    [error] = result.errors
    assert (error.path, error.field) == (
        "$.events[0]",
        "eventClassification.equipmentEventTypeCode",
    )


def test_same_event_from_api_and_webhook_has_one_id() -> None:
    pulled = normalize_result({"events": [_v300_event()]}, "dcsa", source_channel="api").events
    pushed = normalize_result(_v300_event(), "dcsa", source_channel="webhook").events
    assert [e.event_id for e in pulled] == [e.event_id for e in pushed]
    assert (pulled[0].source_channel, pushed[0].source_channel) == ("api", "webhook")
