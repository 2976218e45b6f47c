"""Carrier tracking payloads: ParcelCo follows UPS's Track API v1, SwiftEx follows FedEx's Track
API.

The shapes are those of the public samples in ``shared/corpus/carriers`` (``Tracking.yaml``,
``ups__test_tracking__TrackingResponseJSON.json``, ``fedex__test_tracking__TrackingResponse.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill_sandbox.reference import WAREHOUSES
from waybill_sandbox.timefmt import iso_local, local_dt

if TYPE_CHECKING:
    from waybill_sandbox.world import CarrierEvent, Shipment, World

# canonical milestone -> (UPS status type, code, description, statusCode)
UPS_STATUS = {
    "tendered": (
        "M",
        "MP",
        "Shipper created a label, ParcelCo has not received the package yet.",
        "003",
    ),
    "picked_up": ("P", "PU", "Pickup Scan", "038"),
    "in_transit": ("I", "AR", "Arrived at Facility", "005"),
    "out_for_delivery": ("I", "OT", "Out For Delivery Today", "072"),
    "delivered": ("D", "KB", "DELIVERED", "011"),
    "delayed": ("X", "WX", "Weather delay: the delivery will be rescheduled.", "007"),
    "damaged": ("X", "DM", "The package was damaged. Contents are being evaluated.", "007"),
}
UPS_DEPARTURE = ("I", "DP", "Departed from Facility", "005")
# canonical milestone -> (FedEx eventType, eventDescription, derivedStatusCode, derivedStatus)
FEDEX_STATUS = {
    "tendered": ("OC", "Shipment information sent to SwiftEx", "IN", "Label created"),
    "picked_up": ("PU", "Picked up", "PU", "Picked up"),
    "in_transit": ("AR", "Arrived at SwiftEx location", "IT", "In transit"),
    "out_for_delivery": ("OD", "On SwiftEx vehicle for delivery", "OD", "Out for delivery"),
    "delivered": ("DL", "Delivered", "DL", "Delivered"),
    "delayed": ("DY", "Delay", "DY", "Delay"),
    "damaged": ("DE", "Delivery exception", "DE", "Delivery exception"),
}
WAREHOUSE_ROWS = {w[0]: w for w in WAREHOUSES}


def _ups_code(ev: CarrierEvent) -> tuple[str, str, str, str]:
    if ev.milestone == "in_transit" and ev.seq % 2 == 0:
        return UPS_DEPARTURE
    return UPS_STATUS[ev.milestone]


def ups_activity(s: Shipment, ev: CarrierEvent, world: World) -> dict:
    """One UPS-style ``activity`` entry (local date/time;
    gmt fields only after the schema drift day).
    """
    dt = local_dt(ev.at, ev.tz)
    kind, code, desc, status_code = _ups_code(ev)
    activity: dict[str, Any] = {
        "date": dt.strftime("%Y%m%d"),
        "time": dt.strftime("%H%M%S"),
        "location": {
            "address": {
                "city": ev.city,
                "stateProvince": ev.state,
                "countryCode": "US",
                "country": "US",
            },
        },
        "status": {
            "type": kind,
            "code": code,
            "description": desc,
            "simplifiedTextDescription": desc.title(),
            "statusCode": status_code,
        },
    }
    if ev.milestone == "delivered":
        activity["location"]["address"]["postalCode"] = s.dest[2]
    # Schema drift: the carrier started sending GMT fields mid-stream.
    if dt.date() >= world.drift_day:
        utc = local_dt(ev.at, "UTC")
        offset = dt.strftime("%z")
        activity["gmtDate"] = utc.strftime("%Y%m%d")
        activity["gmtTime"] = utc.strftime("%H%M%S")
        activity["gmtOffset"] = f"{offset[:3]}:{offset[3:]}"
    return activity


def _unique_events(s: Shipment, clock: int | None = None) -> list[CarrierEvent]:
    """The shipment's events published by ``clock`` (all when None), each once."""
    seen: set[int] = set()
    out = []
    for ev in sorted(s.events, key=lambda e: e.published_at):
        if clock is not None and ev.published_at > clock:
            continue
        original = ev.seq if ev.duplicate_of is None else ev.duplicate_of
        if original not in seen:
            seen.add(original)
            out.append(ev)
    return out


def _delivered_seen(s: Shipment, events: list[CarrierEvent]) -> bool:
    return s.delivered_at is not None and any(ev.milestone == "delivered" for ev in events)


def _pod_shown(s: Shipment, clock: int | None) -> bool:
    """A POD shows once received, and not while it is reversed (until a corrected one)."""
    return s.pod_at is not None and (clock is None or s.pod_valid(clock))


def _pod_corrected(s: Shipment, clock: int | None) -> bool:
    """The POD shown is the corrected one, a new document (a reversed POD was re-issued)."""
    return s.pod_corrected_at is not None and (clock is None or s.pod_corrected_at <= clock)


def ups_track_response(s: Shipment, world: World, clock: int | None = None) -> dict:
    """``GET /track/v1/details/{inquiryNumber}`` body for a ParcelCo shipment, as of ``clock``
    (default the world's end): only activity published by then.
    """
    events = sorted(_unique_events(s, clock), key=lambda e: e.at, reverse=True)
    wh = WAREHOUSE_ROWS[s.warehouse_id]
    package: dict = {
        "trackingNumber": s.tracking_number,
        "activity": [ups_activity(s, ev, world) for ev in events],
        "packageAddress": [
            {
                "type": "ORIGIN",
                "name": f"WAYBILL {wh[1].upper()}",
                "address": {
                    "city": wh[2],
                    "stateProvince": wh[3],
                    "countryCode": "US",
                    "country": "US",
                },
            },
            {
                "type": "DESTINATION",
                "name": s.ship_to_name,
                "address": {
                    "addressLine1": s.ship_to_street,
                    "city": s.dest[0],
                    "stateProvince": s.dest[1],
                    "postalCode": s.dest[2],
                    "countryCode": "US",
                    "country": "US",
                },
            },
        ],
        "referenceNumber": [{"type": "SHIPMENT", "number": s.order_number}],
        "service": {"code": "003", "description": "ParcelCo Ground"},
        "packageCount": s.package_count,
        "weight": {"unitOfMeasurement": "KGS", "weight": s.weight_kg},
    }
    if events:
        kind, code, desc, status_code = _ups_code(events[0])
        package["currentStatus"] = {
            "type": kind,
            "code": code,
            "description": desc,
            "simplifiedTextDescription": desc.title(),
            "statusCode": status_code,
        }
    if s.delivered_at is not None and _delivered_seen(s, events):
        dt = local_dt(s.delivered_at, s.dest[3])
        package["deliveryDate"] = [{"type": "DEL", "date": dt.strftime("%Y%m%d")}]
        package["deliveryTime"] = {"type": "DEL", "endTime": dt.strftime("%H%M%S")}
        if _pod_shown(s, clock):
            package["deliveryInformation"] = {
                "location": "FRONT DOOR" if s.residential else "DOCK",
                "receivedBy": s.pod_signed_by,
                "signature": {"image": "c2lnbmF0dXJl"},
            }
            if _pod_corrected(s, clock):  # the re-issued POD letter
                package["deliveryInformation"]["pod"] = {"content": "Y29ycmVjdGVkIFBPRA=="}
    else:
        package["deliveryDate"] = [
            {"type": "SDD", "date": s.requested_delivery_date.strftime("%Y%m%d")}
        ]
    return {
        "trackResponse": {"shipment": [{"inquiryNumber": s.tracking_number, "package": [package]}]}
    }


def ups_feed_event(s: Shipment, k: int, world: World) -> dict:
    """One record of ParcelCo's bulk event feed."""
    ev = s.events[k]
    return {
        "trackingNumber": s.tracking_number,
        "shipperReference": s.order_number,
        "activity": ups_activity(s, ev, world),
        "publishedAt": iso_local(ev.published_at, "UTC").replace("+00:00", "Z"),
    }


def ups_webhook_body(s: Shipment, k: int, world: World) -> dict:
    """UPS Track Alert ``TrackingEventRequest`` body for one event."""
    ev = s.events[k]
    local = local_dt(ev.at, ev.tz)
    utc = local_dt(ev.at, "UTC")
    kind, code, desc, _ = _ups_code(ev)
    offset = local.strftime("%z")
    body: dict[str, Any] = {
        "trackingNumber": s.tracking_number,
        "localActivityDate": local.strftime("%Y%m%d"),
        "localActivityTime": local.strftime("%H%M%S"),
        "activityLocation": {"city": ev.city, "stateProvince": ev.state, "country": "US"},
        "activityStatus": {"type": kind, "code": code, "description": desc},
        "scheduledDeliveryDate": s.requested_delivery_date.strftime("%Y%m%d"),
        "gmtActivityDate": utc.strftime("%Y%m%d"),
        "gmtActivityTime": utc.strftime("%H%M%S"),
        "gmtOffset": f"{offset[:3]}.{offset[3:]}",
    }
    if ev.milestone == "delivered":
        body["actualDeliveryDate"] = local.strftime("%Y%m%d")
        body["actualDeliveryTime"] = local.strftime("%H%M%S")
        body["activityLocation"]["postalCode"] = s.dest[2]
    return body


def fedex_scan_event(s: Shipment, ev: CarrierEvent) -> dict:
    """One FedEx-style ``scanEvents`` entry (``date`` in local time with its offset)."""
    etype, desc, dcode, dstatus = FEDEX_STATUS[ev.milestone]
    scan: dict[str, Any] = {
        "date": iso_local(ev.at, ev.tz),
        "eventType": etype,
        "eventDescription": desc,
        "derivedStatusCode": dcode,
        "derivedStatus": dstatus,
        "exceptionCode": "",
        "exceptionDescription": "",
        "scanLocation": {
            "city": ev.city,
            "stateOrProvinceCode": ev.state,
            "countryCode": "US",
            "residential": False,
        },
        "locationType": "CUSTOMER" if ev.milestone == "delivered" else "FEDEX_FACILITY",
    }
    if ev.milestone == "delayed":
        scan["exceptionCode"] = "A12"
        scan["exceptionDescription"] = "Weather delay"
        scan["delayDetail"] = {"type": "WEATHER", "status": "DELAYED"}
    if ev.milestone == "damaged":
        scan["exceptionCode"] = "DMG"
        scan["exceptionDescription"] = "Package damaged"
    if ev.milestone == "delivered":
        scan["scanLocation"]["postalCode"] = s.dest[2]
        scan["scanLocation"]["residential"] = s.residential
    return scan


def fedex_unique_id(s: Shipment) -> str:
    """FedEx's ``trackingNumberUniqueId`` of a SwiftEx shipment's package."""
    return f"12025~{s.tracking_number}~SWFX"


def fedex_track_result(s: Shipment, clock: int | None = None) -> dict:
    """One ``completeTrackResults`` entry for a SwiftEx shipment, as of ``clock`` (default the
    world's end): only scans published by then."""
    events = sorted(_unique_events(s, clock), key=lambda e: e.at, reverse=True)
    wh = WAREHOUSE_ROWS[s.warehouse_id]
    result: dict = {
        "trackingNumberInfo": {
            "trackingNumber": s.tracking_number,
            "carrierCode": "SWFX",
            "trackingNumberUniqueId": fedex_unique_id(s),
        },
        "additionalTrackingInfo": {
            "packageIdentifiers": [{"type": "SHIPPER_REFERENCE", "value": s.order_number}],
            "hasAssociatedShipments": False,
        },
        "serviceDetail": {
            "type": "SWIFTEX_GROUND",
            "description": "SwiftEx Ground",
            "shortDescription": "SG",
        },
        "shipperInformation": {
            "address": {"city": wh[2], "stateOrProvinceCode": wh[3], "countryCode": "US"}
        },
        "recipientInformation": {
            "address": {
                "city": s.dest[0],
                "stateOrProvinceCode": s.dest[1],
                "postalCode": s.dest[2],
                "countryCode": "US",
            }
        },
        "packageDetails": {
            "count": str(s.package_count),
            "weightAndDimensions": {"weight": [{"unit": "KG", "value": s.weight_kg}]},
        },
        "scanEvents": [fedex_scan_event(s, ev) for ev in events],
        "dateAndTimes": [],
        "availableImages": [],
    }
    if events:
        etype, desc, dcode, dstatus = FEDEX_STATUS[events[0].milestone]
        result["latestStatusDetail"] = {
            "code": etype,
            "derivedCode": dcode,
            "statusByLocale": dstatus,
            "description": desc,
            "scanLocation": {
                "city": events[0].city,
                "stateOrProvinceCode": events[0].state,
                "countryCode": "US",
            },
        }
    for ev in events:
        if ev.milestone == "picked_up":
            result["dateAndTimes"].append(
                {"type": "ACTUAL_PICKUP", "dateTime": iso_local(ev.at, ev.tz)}
            )
    result["dateAndTimes"].append(
        {"type": "SHIP", "dateTime": s.ship_date.isoformat() + "T00:00:00"}
    )
    if s.delivered_at is not None and _delivered_seen(s, events):
        result["dateAndTimes"].append(
            {"type": "ACTUAL_DELIVERY", "dateTime": iso_local(s.delivered_at, s.dest[3])}
        )
        if _pod_shown(s, clock):
            result["deliveryDetails"] = {
                "receivedByName": s.pod_signed_by,
                "signedByName": s.pod_signed_by,
                # A corrected POD comes from a second proof of delivery.
                "deliveryAttempts": "2" if _pod_corrected(s, clock) else "1",
                "locationDescription": "Front Door" if s.residential else "Shipping/Receiving",
            }
            result["availableImages"].append(
                {"type": "SIGNATURE_PROOF_OF_DELIVERY", "size": "LARGE"}
            )
    else:
        result["standardTransitTimeWindow"] = {
            "type": "ESTIMATED_DELIVERY",
            "window": {"ends": s.requested_delivery_date.isoformat() + "T23:59:59"},
        }
    return result


def fedex_not_found(tracking_number: str) -> dict:
    """FedEx's per-number not-found result."""
    return {
        "trackingNumberInfo": {
            "trackingNumber": tracking_number,
            "trackingNumberUniqueId": "",
            "carrierCode": "",
        },
        "error": {
            "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
            "message": "Tracking number cannot be found. "
            "Please correct the tracking number and try again.",
        },
    }


def fedex_feed_event(s: Shipment, k: int) -> dict:
    """One record of SwiftEx's bulk event feed."""
    ev = s.events[k]
    return {
        "trackingNumber": s.tracking_number,
        # The package the scan belongs to, as the Track API names it: the same scan pulled
        # from the feed, pushed, or read in a Track API result is one event.
        "trackingNumberUniqueId": fedex_unique_id(s),
        "shipperReference": s.order_number,
        "scanEvent": fedex_scan_event(s, ev),
        "publishedAt": iso_local(ev.published_at, "UTC").replace("+00:00", "Z"),
    }


def ridgeline_pod(s: Shipment, sub: int = 0) -> dict:
    """Ridgeline's proof-of-delivery document record: ``sub`` 0 the POD as received, 1 its
    reversal (same received_at, status REVERSED), 2 the corrected POD (a new received_at)."""
    received = s.pod_corrected_at if sub == 2 else s.pod_at
    published = {0: s.pod_at, 1: s.pod_reversed_at, 2: s.pod_corrected_at}[sub]
    return {
        "pro_number": s.tracking_number,
        "bol_number": s.bol_number,
        "delivered_at": iso_local(s.delivered_at, s.dest[3])
        if s.delivered_at is not None
        else None,
        "signed_by": s.pod_signed_by,
        "received_at": _utc(received),
        "document_type": "POD",
        "pages": 1,
        "status": "REVERSED" if sub == 1 else "RECEIVED",
        "updated_at": _utc(published),
    }


def _utc(epoch: int | None) -> str | None:
    return iso_local(epoch, "UTC").replace("+00:00", "Z") if epoch is not None else None


def pod_record_key(pro_number: str, sub: int) -> str:
    """The record key of a POD record for malformed faults (re-publications add ``/<sub>``)."""
    return f"ridgeline/pods/{pro_number}" + (f"/{sub}" if sub else "")
