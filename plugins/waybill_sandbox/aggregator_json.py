"""TrackLane's tracking as a shipping aggregator reports it: Shippo's Track object.

TrackLane is a parcel carrier the shipper follows only through an aggregator (no tracking API
of its own, no POD). Its feed serves one Shippo ``track_updated`` webhook body per published
event: the Track as of that publication (``tracking_history`` oldest first, ``tracking_status``
the event just published), as Shippo documents it (https://docs.goshippo.com/docs/tracking/
webhooks and the Track object of its API reference). ``status_date`` is UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waybill_sandbox.reference import WAREHOUSES
from waybill_sandbox.timefmt import iso_utc

if TYPE_CHECKING:
    from waybill_sandbox.world import CarrierEvent, Shipment

# canonical milestone -> (Shippo status, substatus code, status_details)
SHIPPO_STATUS = {
    "tendered": ("PRE_TRANSIT", "information_received", "Shipping label created"),
    "picked_up": ("TRANSIT", "package_accepted", "Package accepted by TrackLane"),
    "in_transit": ("TRANSIT", "package_arrived", "Arrived at a TrackLane facility"),
    "out_for_delivery": ("TRANSIT", "out_for_delivery", "Out for delivery"),
    "delivered": ("DELIVERED", "delivered", "Delivered"),
    "delayed": ("TRANSIT", "delayed", "Delayed: weather"),
    "damaged": ("FAILURE", "package_damaged", "The package was damaged"),
}
WAREHOUSE_ROWS = {w[0]: w for w in WAREHOUSES}


def _status_id(s: Shipment, ev: CarrierEvent) -> str:
    """The status's ``object_id``: a re-published event keeps its original's."""
    seq = ev.seq if ev.duplicate_of is None else ev.duplicate_of
    return f"trk{s.index:07d}s{seq:02d}"


def shippo_status(s: Shipment, ev: CarrierEvent) -> dict:
    """One Shippo tracking status (a ``tracking_history[]`` entry) for a TrackLane event."""
    status, sub_code, details = SHIPPO_STATUS[ev.milestone]
    return {
        "object_id": _status_id(s, ev),
        "object_created": iso_utc(ev.published_at),
        "object_updated": iso_utc(ev.published_at),
        "status": status,
        "status_details": details,
        "status_date": iso_utc(ev.at),
        "substatus": {"code": sub_code, "text": details, "action_required": False},
        "location": {"city": ev.city, "state": ev.state, "zip": "", "country": "US"},
    }


def shippo_track_updated(s: Shipment, k: int) -> dict:
    """The ``track_updated`` webhook body published with TrackLane event ``k`` of ``s``."""
    ev = s.events[k]
    history = sorted(
        (
            e
            for e in s.events
            if e.duplicate_of is None and e.published_at <= ev.published_at and e.seq != ev.seq
        ),
        key=lambda e: e.at,
    )
    if ev.duplicate_of is None:
        history = sorted([*history, ev], key=lambda e: e.at)
    wh = WAREHOUSE_ROWS[s.warehouse_id]
    track = {
        "carrier": "tracklane",
        "tracking_number": s.tracking_number,
        "metadata": s.order_number,
        "address_from": {"city": wh[2], "state": wh[3], "zip": "", "country": "US"},
        "address_to": {"city": s.dest[0], "state": s.dest[1], "zip": s.dest[2], "country": "US"},
        "eta": None,
        "original_eta": None,
        "servicelevel": {"token": "tracklane_ground", "name": "Ground"},
        "tracking_status": shippo_status(s, ev),
        "tracking_history": [shippo_status(s, e) for e in history],
        "messages": [],
    }
    return {"event": "track_updated", "test": False, "data": track}
