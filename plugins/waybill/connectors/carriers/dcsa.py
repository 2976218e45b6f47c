"""DCSA Track & Trace events (v2 flat, v3 ``metadata``/``payload``) → canonical events.

``doc`` is a list of events (``GET /events``) or one event (``GET /events/{eventID}``, a
webhook notification). Each event is coded ``<eventType>:<eventTypeCode>`` and, where the
meaning depends on it, qualified: equipment events by ``emptyIndicatorCode``
(``EQUIPMENT:PICK:EMPTY``), shipment events by ``documentTypeCode`` (``SHIPMENT:ISSU:TRD``);
the seed is searched from the most specific code down.

A v3 event with ``metadata.retractedEventID`` and no payload withdraws an earlier event: it is
kept, flagged ``is_retraction`` with ``retracts_event_id``, milestone ``unmapped``, timed at
``eventCreatedDateTime`` (when the retraction was published).

Tracking number: the booking (``BKG``), else the transport document (``TRD``, the bill of
lading), else the container (``equipmentReference``) — the identifiers a shipper tracks by.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.carriers.events import (
    CarrierEvent,
    Field,
    Location,
    NormalizeError,
    parse_iso,
    stable_event_id,
    walk_records,
)
from waybill.milestones import UNMAPPED, lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "dcsa"
CLASSIFIERS = {"ACT": "actual", "EST": "estimated", "PLN": "planned", "REQ": "planned"}
_TYPE_CODE_FIELD = {
    "TRANSPORT": "transportEventTypeCode",
    "EQUIPMENT": "equipmentEventTypeCode",
    "SHIPMENT": "shipmentEventTypeCode",
}
# Names from the DCSA reference code lists (reference_codes/*eventtypecodes.csv).
CODE_NAMES = {
    "ARRI": "Arrival",
    "DEPA": "Departure",
    "LOAD": "Load",
    "DISC": "Discharge",
    "GTIN": "Gate in",
    "GTOT": "Gate out",
    "STUF": "Stuffing",
    "STRP": "Stripping",
    "PICK": "Pick-up",
    "DROP": "Drop-off",
    "INSP": "Inspected",
    "RSEA": "Resealed",
    "RMVD": "Removed",
    "AVPU": "Available for Pick-up",
    "AVDO": "Available for Drop-off",
    "CUSS": "Customs Selected for Scan",
    "CUSI": "Customs Selected for Inspection",
    "CUSR": "Customs Released",
    "WAYP": "Way Point Crossed",
    "RECE": "Received",
    "DRFT": "Drafted",
    "PENA": "Pending Approval",
    "PENU": "Pending Update",
    "PENC": "Pending Confirmation",
    "REJE": "Rejected",
    "APPR": "Approved",
    "ISSU": "Issued",
    "SURR": "Surrendered",
    "SUBM": "Submitted",
    "VOID": "Void",
    "CONF": "Confirmed",
    "REQS": "Requested",
    "CMPL": "Completed",
    "HOLD": "On Hold",
    "RELS": "Released",
    "CANC": "Cancelled",
}


def normalize(
    doc: Any, *, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CarrierEvent | NormalizeError]:
    """Yield one event or error per DCSA event in ``doc`` (a list of events or one event).

    ``source`` names the document in errors; ``carrier_code`` overrides the publisher's
    ``carrierCode`` (default ``dcsa`` when neither is known). Never raises on bad input.
    """
    yield from walk_records(doc, source, _events, lambda event: [_event(event, carrier_code)])


def _events(root: Field) -> list[Field]:
    if isinstance(root.value, list):
        return [Field(item, f"$[{index}]") for index, item in enumerate(root.value)]
    if isinstance(root.value, dict):
        return [root]
    raise root.error(None, "document must be an event object or an array of events")


def _event(event: Field, carrier_override: str | None) -> CarrierEvent:
    metadata = event.obj("metadata")
    is_v3 = metadata.value is not None
    publisher = metadata.obj("publisher") if is_v3 else Field(None)
    carrier = (
        carrier_override
        or (publisher.text("carrierCode") if publisher.value is not None else None)
        or "dcsa"
    )
    retracted = metadata.text("retractedEventID") if is_v3 else None
    if retracted:
        return _retraction(metadata, retracted, carrier, event.path)

    payload = event.obj("payload", required=True) if is_v3 else event
    event_type = payload.text("eventType") or (metadata.text("eventType") if is_v3 else None)
    if event_type is None:
        raise payload.error("eventType", "is missing")
    code_field = _TYPE_CODE_FIELD.get(event_type, "eventTypeCode")
    type_code = payload.text(code_field) or payload.text("eventTypeCode")
    if type_code is None:
        raise payload.error(code_field, "is missing")
    classifier_code = payload.text("eventClassifierCode", required=True) or ""
    classifier = CLASSIFIERS.get(classifier_code)
    if classifier is None:
        raise payload.error("eventClassifierCode", f"unknown classifier {classifier_code[:20]!r}")
    when = payload.text("eventDateTime", required=True) or ""
    event_at_utc, offset = parse_iso(when, payload, "eventDateTime")

    qualifier = None
    if event_type == "EQUIPMENT":
        qualifier = payload.text("emptyIndicatorCode")
    elif event_type == "SHIPMENT":
        qualifier = payload.text("documentTypeCode")
    base = f"{event_type}:{type_code}"
    candidates = [f"{base}:{qualifier}", base] if qualifier else [base]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)

    tracking = _tracking_number(payload)
    location = _location(payload)
    event_id = (metadata.text("eventID") if is_v3 else None) or payload.text("eventID")
    reason_description = payload.text("reason") or payload.text("changeRemark")
    return CarrierEvent(
        tracking_number=tracking,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=source_code,
        source_description=CODE_NAMES.get(type_code),
        milestone=milestone,
        classifier=classifier,
        event_at_utc=event_at_utc,
        event_at_local=when,
        utc_offset=offset,
        location=location,
        reason_code=payload.text("delayReasonCode"),
        reason_description=reason_description,
        event_id=event_id
        or stable_event_id(
            "dcsa", carrier, tracking, base, classifier_code, when, location.unlocode
        ),
        path=event.path,
    )


def _retraction(metadata: Field, retracted: str, carrier: str, path: str) -> CarrierEvent:
    event_type = metadata.text("eventType") or "EVENT"
    created = metadata.text("eventCreatedDateTime")
    event_at_utc, offset = (
        parse_iso(created, metadata, "eventCreatedDateTime") if created else (None, None)
    )
    return CarrierEvent(
        tracking_number=None,
        carrier_code=carrier,
        source_standard=SOURCE_STANDARD,
        source_code=f"{event_type}:RETRACTED",
        source_description=f"retraction of event {retracted}",
        milestone=UNMAPPED,
        classifier="actual",
        event_at_utc=event_at_utc,
        event_at_local=created,
        utc_offset=offset,
        location=Location(),
        reason_code=None,
        reason_description=None,
        event_id=metadata.text("eventID") or stable_event_id("dcsa", carrier, "retract", retracted),
        is_retraction=True,
        retracts_event_id=retracted,
        path=path,
    )


def _references(payload: Field) -> dict[str, str]:
    """Collect document references by type (v3 and v2 spellings); the first of a type wins."""
    refs: dict[str, str] = {}
    for item in payload.items("relatedDocumentReferences"):
        if isinstance(item.value, dict):
            kind, value = item.text("type"), item.text("value")
            if kind and value:
                refs.setdefault(kind, value)
    for item in payload.items("documentReferences"):
        if isinstance(item.value, dict):
            kind, value = item.text("documentReferenceType"), item.text("documentReferenceValue")
            if kind and value:
                refs.setdefault(kind, value)
    document_type = payload.text("documentTypeCode")
    document = payload.text("documentReference") or payload.text("documentID")
    if document_type and document:
        refs.setdefault(document_type, document)
    if payload.text("carrierBookingReference"):
        refs.setdefault("BKG", payload.text("carrierBookingReference") or "")
    if payload.text("transportDocumentReference"):
        refs.setdefault("TRD", payload.text("transportDocumentReference") or "")
    return refs


def _equipment_reference(payload: Field) -> str | None:
    direct = payload.text("equipmentReference")
    if direct:
        return direct
    for item in payload.items("references"):
        if isinstance(item.value, dict):
            kind = item.text("type") or item.text("referenceType")
            value = item.text("value") or item.text("referenceValue")
            if kind == "EQ" and value:
                return value
    return None


def _tracking_number(payload: Field) -> str:
    refs = _references(payload)
    number = refs.get("BKG") or refs.get("TRD") or _equipment_reference(payload)
    if number is None:
        raise payload.error(
            "relatedDocumentReferences",
            "no booking (BKG), transport document (TRD) or equipment reference to track by",
        )
    return number


def _location(payload: Field) -> Location:
    transport_call = payload.obj("transportCall")
    place = payload.obj("location")
    if place.value is None:
        place = payload.obj("eventLocation")
    if place.value is None and transport_call.value is not None:
        place = transport_call.obj("location")
    unlocode = place.text("UNLocationCode") if place.value is not None else None
    if unlocode is None and transport_call.value is not None:
        unlocode = transport_call.text("UNLocationCode")
    address = place.obj("address") if place.value is not None else Field(None)
    city = state = postal_code = country = None
    if address.value is not None:
        city = address.text("city")
        state = address.text("stateRegion")
        postal_code = address.text("postCode")
        country = address.text("country")
    if country is None and unlocode and len(unlocode) == 5:
        # The first two letters of a UN/LOCODE are the ISO 3166-1 country.
        country = unlocode[:2]
    return Location(
        city=city, state=state, postal_code=postal_code, country=country, unlocode=unlocode
    )
