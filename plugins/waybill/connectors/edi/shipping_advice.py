"""Canonical record for an X12 945 (Warehouse Shipping Advice): what a warehouse shipped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.models import element, values
from waybill.connectors.edi.shared_segments import (
    RecordIssue,
    check_date,
    check_total,
    dated,
    party,
    place_party,
    quantity,
    reference,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from waybill.connectors.edi.models import Segment


def _new_line(lx: str | None) -> dict[str, Any]:
    return {
        "lx": lx,
        "status": None,
        "quantity_ordered": None,
        "quantity_shipped": None,
        "quantity_difference": None,
        "unit": None,
        "upc": None,
        "product_id_qualifier": None,
        "product_id": None,
        "lot_number": None,
        "description": None,
        "references": [],
    }


def build_shipping_advice(
    body: list[Segment], header: dict[str, Any]
) -> tuple[dict[str, Any], list[RecordIssue]]:
    """Build the 945 record from ST..SE: W06 ids, parties, dates, carrier, shipped lines.

    W06: reporting code (01), depositor order number (02), shipment date (03), shipment id
    (04), agent shipment id (05), purchase order (06). N1 loop parties, N9 references, G62
    dates, NTE notes, W27 carrier (transportation method 01, SCAC 02, routing 03, payment
    method 04). One line per W12 (status 01, ordered 02, shipped 03, difference 04, unit 05,
    UPC 06, product id qualifier 07 and id 08, lot 09) with the G69 description and N9s after
    it. W03-01, when sent, must equal the sum of W12-03 (`quantity_mismatch`). Never raises
    on data.
    """
    record: dict[str, Any] = {
        **header,
        "reporting_code": None,
        "depositor_order_number": None,
        "shipment_date": None,
        "shipment_id": None,
        "agent_shipment_id": None,
        "purchase_order": None,
        "parties": [],
        "references": [],
        "dates": [],
        "notes": [],
        "carrier": None,
        "lines": [],
        "totals": None,
    }
    issues: list[RecordIssue] = []
    current_party: dict[str, Any] | None = None
    lx: str | None = None
    line: dict[str, Any] | None = None
    shipped: list[Decimal] = []
    declared: tuple[Decimal | None, int] | None = None
    for at, seg in enumerate(body):
        tag = seg[0]
        if tag == "W06":
            v = values(seg, 6)
            record["reporting_code"], record["depositor_order_number"] = v[1], v[2]
            record["shipment_date"], record["shipment_id"] = v[3], v[4]
            record["agent_shipment_id"], record["purchase_order"] = v[5], v[6]
            check_date(seg, at, 3, issues)
        elif tag == "N1":
            current_party = party(seg)
            record["parties"].append(current_party)
        elif tag in ("N2", "N3", "N4"):
            place_party(current_party, seg)
        elif tag == "N9":
            (line["references"] if line is not None else record["references"]).append(
                reference(seg)
            )
        elif tag == "G62":
            record["dates"].append(dated(seg))
            check_date(seg, at, 2, issues)
        elif tag == "NTE":
            record["notes"].append({"code": element(seg, 1), "text": element(seg, 2)})
        elif tag == "W27":
            v = values(seg, 4)
            record["carrier"] = {
                "transportation_method": v[1],
                "scac": v[2],
                "routing": v[3],
                "payment_method": v[4],
            }
        elif tag == "LX":
            lx = element(seg, 1)
            line = None
            current_party = None
        elif tag == "W12":
            v = values(seg, 9)
            line = _new_line(lx)
            record["lines"].append(line)
            line.update(
                status=v[1],
                quantity_ordered=v[2],
                quantity_shipped=v[3],
                quantity_difference=v[4],
                unit=v[5],
                upc=v[6],
                product_id_qualifier=v[7],
                product_id=v[8],
                lot_number=v[9],
            )
            quantity(seg, at, 2, issues)
            amount = quantity(seg, at, 3, issues)
            if amount is not None:
                shipped.append(amount)
            quantity(seg, at, 4, issues)
        elif tag == "G69" and line is not None:
            line["description"] = line["description"] or element(seg, 1)
        elif tag == "W03":
            v = values(seg, 3)
            record["totals"] = {"quantity": v[1], "weight": v[2], "weight_unit": v[3]}
            declared = (quantity(seg, at, 1, issues), at)
    if declared is not None:
        check_total(declared[0], shipped, ("W03-01", declared[1], 1), "W12-03 quantities", issues)
    if record["depositor_order_number"] is None and record["shipment_id"] is None:
        issues.append(RecordIssue("missing_w06", "945 has no W06 order or shipment id", 0, None))
    return record, issues
