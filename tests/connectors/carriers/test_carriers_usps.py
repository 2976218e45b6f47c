"""USPS Tracking API v3: trackingEvents, GMT fields, error envelopes, documents of another kind.

The examples follow the Tracking 3.0 response in the USPS developer documentation
(``trackingNumber``, ``trackingEvents[]`` with ``eventType``, ``eventCode``, ``eventTimestamp``,
``GMTTimestamp``, ``GMTOffset``, ``eventCity``, ``eventState``, ``eventZIP``, ``eventCountry``;
errors as ``{"apiVersion", "error": {"code", "message", "errors": [...]}}``).
"""

from __future__ import annotations

from typing import Any

import pytest

from waybill.connectors.carriers import DocumentError, NormalizeResult, normalize_result


def _run(doc: Any) -> NormalizeResult:
    return normalize_result(doc, "usps", source="usps.json")


def _event(**overrides: Any) -> dict[str, Any]:
    event = {
        "eventType": "Delivered, In/At Mailbox",
        "eventTimestamp": "2024-03-05T14:12:00",
        "GMTTimestamp": "2024-03-05T19:12:00Z",
        "GMTOffset": "-05:00",
        "eventCountry": None,
        "eventCity": "NEW YORK",
        "eventState": "NY",
        "eventZIP": "10001",
        "firm": None,
        "name": None,
        "authorizedAgent": False,
        "eventCode": "01",
    }
    event.update(overrides)
    return event


def _doc(*events: Any) -> dict[str, Any]:
    return {
        "trackingNumber": "9400100000000000000000",
        "statusCategory": "Delivered",
        "trackingEvents": list(events),
    }


def test_delivered_event_with_gmt_fields() -> None:
    [event] = _run(_doc(_event())).events
    assert (event.carrier, event.tracking_number, event.milestone) == (
        "usps",
        "9400100000000000000000",
        "delivered",
    )
    assert event.occurred_at_local == "2024-03-05T14:12:00"
    assert (event.occurred_at_utc, event.utc_offset, event.time_zone_source) == (
        "2024-03-05T19:12:00Z",
        "-05:00",
        "payload",
    )
    assert (event.location.city, event.location.state, event.location.postal_code) == (
        "NEW YORK",
        "NY",
        "10001",
    )


def test_local_time_without_gmt_resolves_from_the_state() -> None:
    [event] = _run(_doc(_event(GMTTimestamp=None, GMTOffset=None, eventState="AZ"))).events
    assert (event.occurred_at_utc, event.time_zone, event.time_zone_source) == (
        "2024-03-05T21:12:00Z",
        "America/Phoenix",
        "location_state",
    )


def test_gmt_offset_alone_shifts_the_local_time() -> None:
    [event] = _run(_doc(_event(GMTTimestamp=None, GMTOffset="-7:00"))).events
    assert (event.occurred_at_utc, event.utc_offset) == ("2024-03-05T21:12:00Z", "-07:00")


def test_unknown_code_is_unmapped_and_bad_event_names_its_field() -> None:
    result = _run(_doc(_event(eventCode="ZZ"), _event(eventTimestamp="05/03/2024"), _event()))
    assert [e.milestone for e in result.events] == ["unmapped", "delivered"]
    [error] = result.errors
    assert (error.path, error.field) == ("$.trackingEvents[1]", "eventTimestamp")


def test_refused_is_an_exception_with_its_reason() -> None:
    [event] = _run(_doc(_event(eventCode="04", eventType="Refused"))).events
    assert (event.milestone, event.is_exception, event.reason_code) == ("refused", True, "04")


def test_error_envelope_keeps_usps_code_and_message() -> None:
    doc = {
        "apiVersion": "/tracking/v3",
        "error": {
            "code": "400",
            "message": "Bad Request",
            "errors": [
                {
                    "status": "400",
                    "code": "010102",
                    "title": "Invalid tracking number",
                    "detail": "The tracking number is not valid.",
                }
            ],
        },
    }
    result = _run(doc)
    assert result.events == []
    [error] = result.errors
    assert error.path == "$.error.errors[0]"
    assert (error.carrier_error_code, error.carrier_error_message) == (
        "010102",
        "Invalid tracking number",
    )


@pytest.mark.parametrize(
    "doc",
    [{}, [1, 2], {"shipments": []}, {"trackingNumber": "9400"}],
    ids=["empty", "junk-array", "dhl", "no-events"],
)
def test_document_of_another_kind_is_rejected(doc: Any) -> None:
    with pytest.raises(DocumentError) as caught:
        _run(doc)
    assert "not a USPS Tracking v3" in str(caught.value)
