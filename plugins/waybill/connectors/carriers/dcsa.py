"""DCSA Track & Trace events (2.2 flat, 3.0.0-Beta ``metadata``/``payload``, 3.0.0) → canonical events.

Shapes, detected per document and per event:

- **2.2** (``GET /v2/events``): an array of flat events (``eventType``, ``eventClassifierCode``,
  ``<type>EventTypeCode``, ``eventDateTime``, ``transportCall``, ``documentReferences``).
- **3.0.0-Beta-1**: an array of (or one) ``{metadata, payload}`` event; a ``metadata`` with
  ``retractedEventID`` and no payload withdraws an earlier event.
- **3.0.0 as released**: ``{"events": [...]}`` (or one event) with ``eventClassification``
  (``eventTypeCode``, ``eventClassifierCode``, ``shipment|transport|equipmentEventTypeCode``),
  ``eventDateTime``, ``eventLocation``, ``relatedDocumentReferences[{typeCode, reference}]``,
  ``shipmentReferences``, ``shipmentDetails``, ``transportDetails`` (``transportCall``,
  ``delayReasonCode``, ``changeRemark``) and ``equipmentDetails``; ``isRetracted: true``
  withdraws the event with that ``eventID``.

Each event is coded ``<eventType>:<eventTypeCode>`` and, where the meaning depends on it,
qualified: equipment events by ``emptyIndicatorCode`` (``EQUIPMENT:PICK:EMPTY``), shipment
events by the document type (``SHIPMENT:ISSU:TRD``); the seed is searched from the most specific
code down. A retraction is kept, flagged ``is_retraction`` with ``retracts_event_id``, milestone
``unmapped``, so a consumer can drop the withdrawn event.

Tracking number: the booking (``BKG``), else the transport document (``TRD``, the bill of
lading), else the container (``equipmentReference`` / ``EQ`` reference). The source's
``eventID`` is kept as ``source_event_id``; ``event_id`` follows the contract (the DCSA examples
reuse one eventID for two different events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.carriers.contract import (
    CanonicalEvent,
    DocumentError,
    Location,
    NormalizeError,
    make_event,
)
from waybill.connectors.carriers.events import (
    Field,
    describe,
    parse_iso,
    records_of,
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


_EVENT_KEYS = ("metadata", "payload", "eventType", "eventClassification", "eventID")


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per DCSA event in ``doc`` (see the module doc for the shapes).

    ``source_channel`` is stamped on every event; ``source`` names the document in errors;
    ``carrier_code`` overrides the publisher's ``carrierCode`` (default ``dcsa`` when neither is
    known). A malformed event becomes its :class:`NormalizeError` and the walk goes on. Raises
    :class:`DocumentError` when ``doc`` is not a DCSA T&T document.
    """
    yield from walk_records(
        doc, source, _events, lambda event: [_event(event, carrier_code, source_channel)]
    )


def _looks_like_event(value: Any) -> bool:
    return isinstance(value, dict) and any(key in value for key in _EVENT_KEYS)


def _events(root: Field) -> list[Field]:
    if isinstance(root.value, list):
        return records_of(root, "a DCSA Track & Trace document", _looks_like_event)
    if isinstance(root.value, dict):
        if isinstance(root.value.get("events"), list):
            return records_of(
                root.child("events", kind=list), "a DCSA Track & Trace document", _looks_like_event
            )
        if _looks_like_event(root.value):
            return [root]
        raise DocumentError(
            "not a DCSA Track & Trace document: an object with no 'events' array and no event"
            " fields (eventType, eventClassification, metadata/payload)"
        )
    raise DocumentError(
        f"not a DCSA Track & Trace document: the document is {describe(root.value)}"
    )


def _event(event: Field, carrier_override: str | None, channel: str) -> CanonicalEvent:
    if event.value.get("eventClassification") is not None:
        return _event_v3(event, carrier_override, channel)
    metadata = event.obj("metadata")
    is_beta = metadata.value is not None
    publisher = metadata.obj("publisher") if is_beta else Field(None)
    carrier = (
        carrier_override
        or (publisher.text("carrierCode") if publisher.value is not None else None)
        or "dcsa"
    )
    retracted = metadata.text("retractedEventID") if is_beta else None
    if retracted:
        return _retraction(
            metadata,
            "eventCreatedDateTime",
            metadata.text("eventType") or "EVENT",
            retracted,
            carrier,
            channel,
            event.path,
            metadata.text("eventID"),
        )

    payload = event.obj("payload", required=True) if is_beta else event
    event_type = payload.text("eventType") or (metadata.text("eventType") if is_beta else None)
    if event_type is None:
        raise payload.error("eventType", "is missing")
    code_field = _TYPE_CODE_FIELD.get(event_type, "eventTypeCode")
    type_code = payload.text(code_field) or payload.text("eventTypeCode")
    if type_code is None:
        raise payload.error(code_field, "is missing")
    qualifier = None
    if event_type == "EQUIPMENT":
        qualifier = payload.text("emptyIndicatorCode")
    elif event_type == "SHIPMENT":
        qualifier = payload.text("documentTypeCode")
    source_event_id = (metadata.text("eventID") if is_beta else None) or payload.text("eventID")
    return _build(
        payload,
        carrier=carrier,
        channel=channel,
        event_type=event_type,
        type_code=type_code,
        qualifier=qualifier,
        classifier_node=payload,
        tracking_number=_tracking_number(payload),
        location=_location(payload),
        reason_code=payload.text("delayReasonCode"),
        reason_description=payload.text("reason") or payload.text("changeRemark"),
        source_event_id=source_event_id,
        path=event.path,
    )


def _event_v3(event: Field, carrier_override: str | None, channel: str) -> CanonicalEvent:
    """A 3.0.0 event: classification, details objects, ``isRetracted``."""
    classification = event.obj("eventClassification", required=True)
    carrier = carrier_override or "dcsa"
    event_id = event.text("eventID")
    event_type = classification.text("eventTypeCode", required=True)
    if event.child("isRetracted").value is True:
        if event_id is None:
            raise event.error("eventID", "is missing on a retracted event (nothing to retract)")
        return _retraction(
            event, "eventUpdatedDateTime", event_type, event_id, carrier, channel, event.path, None
        )
    code_field = _TYPE_CODE_FIELD.get(event_type, f"{event_type.lower()}EventTypeCode")
    type_code = classification.text(code_field, required=True)
    shipment = event.obj("shipmentDetails")
    transport = event.obj("transportDetails")
    equipment = event.obj("equipmentDetails")
    qualifier = None
    if event_type == "EQUIPMENT":
        qualifier = equipment.text("emptyIndicatorCode")
    elif event_type == "SHIPMENT":
        qualifier = shipment.obj("documentReference").text("typeCode")
    return _build(
        event,
        carrier=carrier,
        channel=channel,
        event_type=event_type,
        type_code=type_code,
        qualifier=qualifier,
        classifier_node=classification,
        tracking_number=_tracking_number_v3(event, shipment, equipment),
        location=_location_v3(event),
        reason_code=transport.text("delayReasonCode"),
        reason_description=shipment.text("reason") or transport.text("changeRemark"),
        source_event_id=event_id,
        path=event.path,
    )


def _build(
    payload: Field,
    *,
    carrier: str,
    channel: str,
    event_type: str,
    type_code: str,
    qualifier: str | None,
    classifier_node: Field,
    tracking_number: str,
    location: Location,
    reason_code: str | None,
    reason_description: str | None,
    source_event_id: str | None,
    path: str,
) -> CanonicalEvent:
    classifier_code = classifier_node.text("eventClassifierCode", required=True)
    classifier = CLASSIFIERS.get(classifier_code)
    if classifier is None:
        raise classifier_node.error(
            "eventClassifierCode", f"unknown classifier {classifier_code[:20]!r}"
        )
    when = payload.text("eventDateTime", required=True)
    local, aware = parse_iso(when, payload, "eventDateTime")
    base = f"{event_type}:{type_code}"
    candidates = [f"{base}:{qualifier}", base] if qualifier else [base]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    return make_event(
        carrier=carrier,
        tracking_number=tracking_number,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        # The classifier is part of the code: an estimate and the actual are different events.
        event_code=f"{candidates[0]}:{classifier_code}",
        source_code=source_code,
        milestone=milestone,
        source_description=CODE_NAMES.get(type_code),
        classifier=classifier,
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        location=location,
        reason_code=reason_code,
        reason_description=reason_description,
        source_event_id=source_event_id,
        path=path,
    )


def _retraction(
    node: Field,
    time_key: str,
    event_type: str,
    retracted: str,
    carrier: str,
    channel: str,
    path: str,
    source_event_id: str | None,
) -> CanonicalEvent:
    created = node.text(time_key)
    local, aware = parse_iso(created, node, time_key) if created else (None, None)
    return make_event(
        carrier=carrier,
        tracking_number=None,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code=f"{event_type}:RETRACTED:{retracted}",
        source_code=f"{event_type}:RETRACTED",
        milestone=UNMAPPED,
        source_description=f"retraction of event {retracted}",
        occurred_at_local=created,
        local_moment=local,
        aware_moment=aware,
        source_event_id=source_event_id,
        is_retraction=True,
        retracts_event_id=retracted,
        path=path,
    )


def _tracking_number_v3(event: Field, shipment: Field, equipment: Field) -> str:
    refs: dict[str, str] = {}
    for item in event.items("relatedDocumentReferences"):
        if isinstance(item.value, dict):
            kind, value = item.text("typeCode"), item.text("reference")
            if kind and value:
                refs.setdefault(kind, value)
    document = shipment.obj("documentReference")
    if document.value is not None:
        kind, value = document.text("typeCode"), document.text("reference")
        if kind and value:
            refs.setdefault(kind, value)
    number = refs.get("BKG") or refs.get("TRD") or equipment.text("equipmentReference")
    if number is None:
        for item in event.items("shipmentReferences"):
            if isinstance(item.value, dict) and item.text("typeCode") == "EQ":
                number = item.text("reference")
                break
    if number is None:
        raise event.error(
            "relatedDocumentReferences",
            "no booking (BKG), transport document (TRD) or equipment reference to track by",
        )
    return number


def _location_v3(event: Field) -> Location:
    place = event.obj("eventLocation")
    if place.value is None:
        return Location()
    unlocode = place.text("UNLocationCode")
    address = place.obj("address")
    country = address.text("countryCode") if address.value is not None else None
    if country is None and unlocode and len(unlocode) == 5:
        country = unlocode[:2]
    return Location(
        city=address.text("city") if address.value is not None else None,
        state=address.text("stateRegion") if address.value is not None else None,
        postal_code=address.text("postCode") if address.value is not None else None,
        country=country,
        unlocode=unlocode,
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
        country = address.text("country") or address.text("countryCode")
    if country is None and unlocode and len(unlocode) == 5:
        # The first two letters of a UN/LOCODE are the ISO 3166-1 country.
        country = unlocode[:2]
    return Location(
        city=city, state=state, postal_code=postal_code, country=country, unlocode=unlocode
    )
