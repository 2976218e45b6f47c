"""Canonical record for an X12 210 (Motor Carrier Freight Details and Invoice)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.models import element, element_name
from waybill.connectors.edi.numbers import NumberError, money, parse_implied
from waybill.connectors.edi.shared_segments import RecordIssue, party, place_party

if TYPE_CHECKING:
    from waybill.connectors.edi.models import Segment


def _amount(
    seg: Segment, at: int, index: int, issues: list[RecordIssue]
) -> tuple[Decimal | None, str | None]:
    """Read an N2 money element: (Decimal, "0.00" string), or (None, None) with an issue."""
    raw = element(seg, index)
    if raw is None:
        return None, None
    try:
        value = parse_implied(raw, 2)
    except NumberError as exc:
        name = element_name(seg[0], index)
        issues.append(RecordIssue("bad_number", f"{name} {exc}", at, index))
        return None, None
    return value, money(value)


def _new_line(lx: str | None) -> dict[str, Any]:
    return {
        "lx": lx,
        "lading_line": None,
        "description": None,
        "commodity_code": None,
        "weight": None,
        "weight_qualifier": None,
        "lading_quantity": None,
        "packaging_code": None,
        "charges": [],
    }


def build_freight_invoice(
    body: list[Segment], header: dict[str, Any]
) -> tuple[dict[str, Any], list[RecordIssue]]:
    """Build the 210 record from ST..SE and check that B3-07 equals the sum of L1-04.

    B3-07 (net amount due), L1-04 (charge) and L3-05 (total charge) are X12 N2: `65940`
    is 659.40. Amounts are strings with exactly two decimals. A total that does not match
    its charges, or a number that is not one, is a record issue. Never raises on data.
    """
    record: dict[str, Any] = {
        **header,
        "invoice_number": None,
        "shipment_id": None,
        "payment_method": None,
        "invoice_date": None,
        "net_amount": None,
        "correction_indicator": None,
        "delivery_date": None,
        "delivery_date_qualifier": None,
        "scac": None,
        "currency": None,
        "references": [],
        "dates": [],
        "parties": [],
        "lines": [],
        "charge_total": None,
        "totals": None,
    }
    issues: list[RecordIssue] = []
    net: Decimal | None = None
    net_at: int | None = None
    charges: list[Decimal] = []
    total_charge: Decimal | None = None
    total_at: int | None = None
    current_party: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    for at, seg in enumerate(body):
        tag = seg[0]
        if tag == "B3":
            record["invoice_number"] = element(seg, 2)
            record["shipment_id"] = element(seg, 3)
            record["payment_method"] = element(seg, 4)
            record["invoice_date"] = element(seg, 6)
            net, record["net_amount"] = _amount(seg, at, 7, issues)
            net_at = at
            record["correction_indicator"] = element(seg, 8)
            record["delivery_date"] = element(seg, 9)
            record["delivery_date_qualifier"] = element(seg, 10)
            record["scac"] = element(seg, 11)
        elif tag == "C3":
            record["currency"] = element(seg, 1)
        elif tag == "N9":
            record["references"].append(
                {
                    "qualifier": element(seg, 1),
                    "value": element(seg, 2),
                    "description": element(seg, 3),
                }
            )
        elif tag == "G62":
            record["dates"].append(
                {
                    "qualifier": element(seg, 1),
                    "date": element(seg, 2),
                    "time_qualifier": element(seg, 3),
                    "time": element(seg, 4),
                }
            )
        elif tag in ("N1", "N2", "N3", "N4"):
            if tag == "N1":
                current_party = party(seg)
                record["parties"].append(current_party)
            else:
                place_party(current_party, seg)
        elif tag == "LX":
            line = _new_line(element(seg, 1))
            record["lines"].append(line)
            current_party = None
        elif tag == "L5":
            if line is None:
                line = _new_line(None)
                record["lines"].append(line)
            line["lading_line"] = line["lading_line"] or element(seg, 1)
            line["description"] = line["description"] or element(seg, 2)
            line["commodity_code"] = line["commodity_code"] or element(seg, 3)
        elif tag == "L0" and line is not None:
            line["weight"] = line["weight"] or element(seg, 4)
            line["weight_qualifier"] = line["weight_qualifier"] or element(seg, 5)
            line["lading_quantity"] = line["lading_quantity"] or element(seg, 8)
            line["packaging_code"] = line["packaging_code"] or element(seg, 9)
        elif tag == "L1":
            value, text = _amount(seg, at, 4, issues)
            if value is not None:
                charges.append(value)
            if line is None:
                line = _new_line(None)
                record["lines"].append(line)
            line["charges"].append(
                {
                    "line": element(seg, 1),
                    "rate": element(seg, 2),
                    "rate_qualifier": element(seg, 3),
                    "charge": text,
                    "special_charge_code": element(seg, 8),
                }
            )
        elif tag == "L3":
            total_charge, text = _amount(seg, at, 5, issues)
            total_at = at
            record["totals"] = {
                "weight": element(seg, 1),
                "weight_qualifier": element(seg, 2),
                "rate": element(seg, 3),
                "rate_qualifier": element(seg, 4),
                "charge": text,
                "lading_quantity": element(seg, 11),
            }
    if charges:
        record["charge_total"] = money(sum(charges, Decimal(0)))
    if net is not None and charges and sum(charges, Decimal(0)) != net:
        issues.append(
            RecordIssue(
                "amount_mismatch",
                f"B3-07 net amount {money(net)} does not equal the sum of L1-04 charges"
                f" {record['charge_total']}",
                net_at,
                7,
            )
        )
    if net is not None and total_charge is not None and total_charge != net:
        issues.append(
            RecordIssue(
                "amount_mismatch",
                f"L3-05 total charge {money(total_charge)} does not equal B3-07 net amount"
                f" {money(net)}",
                total_at,
                5,
            )
        )
    if record["invoice_number"] is None:
        issues.append(
            RecordIssue("missing_invoice_number", "210 has no B3-02 invoice number", 0, None)
        )
    return record, issues
