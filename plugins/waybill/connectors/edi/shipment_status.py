"""Canonical record for an X12 214 (Transportation Carrier Shipment Status Message)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.models import element_name, values
from waybill.connectors.edi.shared_segments import RecordIssue, party, place_party

if TYPE_CHECKING:
    from waybill.connectors.edi.models import Segment


_USED = frozenset({"B10", "L11", "N1", "N2", "N3", "N4", "LX", "AT7", "MS1", "MS2", "AT8"})


def _check_date_time(
    value: str | None, seg: Segment, at: int, index: int, kind: str, issues: list[RecordIssue]
) -> None:
    """Report a date (CCYYMMDD) or time (HHMM[SS[DD]]) that is not digits of the right length."""
    lengths = (8,) if kind == "date" else (4, 6, 8)
    if value is not None and not (value.isdigit() and len(value) in lengths):
        name = element_name(seg[0], index)
        shape = "CCYYMMDD date" if kind == "date" else "HHMM time"
        issues.append(RecordIssue(f"bad_{kind}", f"{name} {value!r} is not a {shape}", at, index))


def build_shipment_status(
    body: list[Segment], header: dict[str, Any]
) -> tuple[dict[str, Any], list[RecordIssue]]:
    """Build the 214 record from ST..SE: B10 ids, L11 references, N1 parties, AT7 events.

    Each AT7 is one event (status AT701, reason AT702, appointment AT703/AT704, date AT705,
    time AT706, time code AT707 kept as sent); MS1 (place), MS2 (equipment), L11 and AT8 that
    follow it within its LX loop attach to it. Returns (record, issues); never raises on data.
    """
    record: dict[str, Any] = {
        **header,
        "carrier_pro": None,
        "shipper_reference": None,
        "scac": None,
        "references": [],
        "parties": [],
        "events": [],
        "weight": None,
    }
    issues: list[RecordIssue] = []
    current_party: dict[str, Any] | None = None
    lx: str | None = None
    event: dict[str, Any] | None = None
    for index, seg in enumerate(body):
        tag = seg[0]
        if tag not in _USED:
            continue
        if tag == "B10":
            v = values(seg, 3)
            record["carrier_pro"], record["shipper_reference"], record["scac"] = v[1], v[2], v[3]
        elif tag == "L11":
            v = values(seg, 3)
            target = event["references"] if event is not None else record["references"]
            target.append({"qualifier": v[2], "value": v[1], "description": v[3]})
        elif tag == "N1":
            current_party = party(seg)
            record["parties"].append(current_party)
        elif tag in ("N2", "N3", "N4"):
            place_party(current_party, seg)
        elif tag == "LX":
            lx = values(seg, 1)[1]
            event = None
            current_party = None
        elif tag == "AT7":
            v = values(seg, 7)
            event = {
                "lx": lx,
                "status_code": v[1],
                "status_reason": v[2],
                "appointment_status": v[3],
                "appointment_reason": v[4],
                "event_date": v[5],
                "event_time": v[6],
                "time_code": v[7],
                "city": None,
                "state": None,
                "country": None,
                "equipment": None,
                "references": [],
                "weight": None,
            }
            record["events"].append(event)
            _check_date_time(v[5], seg, index, 5, "date", issues)
            _check_date_time(v[6], seg, index, 6, "time", issues)
            if v[1] is None and v[3] is None:
                issues.append(
                    RecordIssue("missing_status", "AT7 has neither AT701 nor AT703", index, 1)
                )
        elif tag == "MS1":
            if event is not None:
                v = values(seg, 3)
                event["city"], event["state"], event["country"] = v[1], v[2], v[3]
        elif tag == "MS2":
            if event is not None:
                v = values(seg, 3)
                event["equipment"] = {"scac": v[1], "number": v[2], "type": v[3]}
        elif tag == "AT8":
            v = values(seg, 4)
            weight = {"qualifier": v[1], "unit": v[2], "weight": v[3], "lading_quantity": v[4]}
            if event is not None:
                event["weight"] = weight
            else:
                record["weight"] = weight
    if record["carrier_pro"] is None and record["shipper_reference"] is None:
        issues.append(RecordIssue("missing_b10", "214 has no B10 shipment identification", 0, None))
    return record, issues
