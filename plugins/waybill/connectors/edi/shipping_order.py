"""Canonical record for an X12 940 (Warehouse Shipping Order): what a depositor asks to ship."""

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
    product_ids,
    quantity,
    reference,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from waybill.connectors.edi.models import Segment


def _new_line(lx: str | None) -> dict[str, Any]:
    return {
        "lx": lx,
        "quantity_ordered": None,
        "unit": None,
        "upc": None,
        "product_ids": [],
        "description": None,
        "references": [],
    }


def build_shipping_order(
    body: list[Segment], header: dict[str, Any]
) -> tuple[dict[str, Any], list[RecordIssue]]:
    """Build the 940 record from ST..SE: W05 order ids, parties, dates, carrier, order lines.

    W05: order status (01), depositor order number (02), purchase order (03), master reference
    (05). N1 loop parties, N9 references, G62 dates, NTE notes, W66 carrier (payment method
    01, transportation method 02, routing 05, SCAC 10). One line per W01 (quantity 01, unit 02,
    UPC 03, product id pairs 04/05 and 06/07) with the G69 description and N9s after it. W76-01,
    when sent, must equal the sum of W01-01 (`quantity_mismatch`). Never raises on data.
    """
    record: dict[str, Any] = {
        **header,
        "order_status": None,
        "depositor_order_number": None,
        "purchase_order": None,
        "master_reference": None,
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
    ordered: list[Decimal] = []
    declared: tuple[Decimal | None, int] | None = None
    for at, seg in enumerate(body):
        tag = seg[0]
        if tag == "W05":
            v = values(seg, 5)
            record["order_status"], record["depositor_order_number"] = v[1], v[2]
            record["purchase_order"], record["master_reference"] = v[3], v[5]
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
        elif tag == "W66":
            v = values(seg, 10)
            record["carrier"] = {
                "payment_method": v[1],
                "transportation_method": v[2],
                "routing": v[5],
                "scac": v[10],
            }
        elif tag == "LX":
            lx = element(seg, 1)
            line = None
            current_party = None
        elif tag == "W01":
            line = _new_line(lx)
            record["lines"].append(line)
            line["quantity_ordered"], line["unit"] = element(seg, 1), element(seg, 2)
            line["upc"] = element(seg, 3)
            line["product_ids"] = product_ids(seg, 4, 8)
            amount = quantity(seg, at, 1, issues)
            if amount is not None:
                ordered.append(amount)
        elif tag == "G69" and line is not None:
            line["description"] = line["description"] or element(seg, 1)
        elif tag == "W76":
            v = values(seg, 5)
            record["totals"] = {
                "quantity": v[1],
                "weight": v[2],
                "weight_unit": v[3],
                "volume": v[4],
                "volume_unit": v[5],
            }
            declared = (quantity(seg, at, 1, issues), at)
    if declared is not None:
        check_total(declared[0], ordered, ("W76-01", declared[1], 1), "W01-01 quantities", issues)
    if record["depositor_order_number"] is None:
        issues.append(
            RecordIssue("missing_w05", "940 has no W05-02 depositor order number", 0, None)
        )
    return record, issues
