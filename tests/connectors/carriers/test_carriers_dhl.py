"""DHL Shipment Tracking – Unified API: shipments[].events[], problem details, other documents.

The examples follow the Unified API reference (``GET /track/shipments``): ``shipments[]`` with
``id``, ``service``, ``status`` and ``events[]`` of ``{timestamp, location: {address:
{countryCode, postalCode, addressLocality}}, statusCode, status, description}``; a 404 answers
``{"title": "No result found", "status": 404, "detail": "..."}`` (RFC 7807 problem details).
"""

from __future__ import annotations

from typing import Any

import pytest

from waybill.connectors.carriers import DocumentError, NormalizeResult, normalize_result


def _run(doc: Any) -> NormalizeResult:
    return normalize_result(doc, "dhl", source="dhl.json")


def _event(**overrides: Any) -> dict[str, Any]:
    event = {
        "timestamp": "2018-08-03T00:00:00Z",
        "location": {
            "address": {
                "countryCode": "NL",
                "postalCode": "1043 AG",
                "addressLocality": "Amsterdam",
            }
        },
        "statusCode": "transit",
        "status": "DELIVERED",
        "description": "JESSICA",
    }
    event.update(overrides)
    return event


def _doc(*events: Any, **shipment: Any) -> dict[str, Any]:
    return {
        "shipments": [
            {
                "id": "7777777770",
                "service": "express",
                "status": _event(statusCode="delivered"),
                "events": list(events),
                **shipment,
            }
        ],
        "possibleAdditionalShipmentsUrl": [],
    }


def test_events_map_through_the_unified_status_codes() -> None:
    codes = ["pre-transit", "transit", "delivered", "failure", "unknown", "brand-new"]
    result = _run(_doc(*(_event(statusCode=code, status=code) for code in codes)))
    assert result.errors == []
    assert [e.milestone for e in result.events] == [
        "tendered",
        "in_transit",
        "delivered",
        "delayed",
        "unmapped",
        "unmapped",
    ]
    assert [e.is_exception for e in result.events] == [False, False, False, True, False, False]
    assert {e.tracking_number for e in result.events} == {"7777777770"}


def test_local_timestamp_resolves_from_the_country() -> None:
    [event] = _run(_doc(_event(timestamp="2018-08-03T10:15:00"))).events
    assert (event.occurred_at_utc, event.time_zone, event.time_zone_source) == (
        "2018-08-03T08:15:00Z",
        "Europe/Amsterdam",
        "location_country",
    )
    assert event.occurred_at_local == "2018-08-03T10:15:00"


def test_local_timestamp_in_a_country_with_many_zones_stays_unknown() -> None:
    address = {"address": {"countryCode": "RU", "addressLocality": "MOSCOW"}}
    [event] = _run(_doc(_event(timestamp="2018-08-03T10:15:00", location=address))).events
    assert (event.occurred_at_utc, event.time_zone_source) == (None, "unknown")


def test_shipment_without_events_uses_its_status() -> None:
    [event] = _run(_doc(events=None)).events
    assert (event.milestone, event.path) == ("delivered", "$.shipments[0].status")


def test_bad_event_is_an_error_and_the_rest_goes_on() -> None:
    result = _run(_doc(_event(statusCode=None), _event()))
    assert len(result.events) == 1
    [error] = result.errors
    assert (error.path, error.field) == ("$.shipments[0].events[0]", "statusCode")


def test_problem_details_keep_dhl_status_and_title() -> None:
    doc = {
        "title": "No result found",
        "status": 404,
        "detail": "No shipment with given tracking number found.",
    }
    [error] = _run(doc).errors
    assert (error.carrier_error_code, error.path) == ("404", "$")
    assert "No result found" in error.message


@pytest.mark.parametrize(
    "doc", [{}, [], {"trackResponse": {}}, "shipments"], ids=["empty", "array", "ups", "string"]
)
def test_document_of_another_kind_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(doc)
    assert "not a DHL Shipment Tracking response" in str(caught.value)
