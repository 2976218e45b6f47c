"""Canonical record for an X12 856 (Ship Notice/Manifest, the ASN): one line per shipped item.

An 856 is a tree of HL loops: shipment (S) → order (O) → tare (T) / pack (P) → item (I), in
any of the standard's structures (BSN05: 0001 pick-and-pack, 0002 standard, 0004 ...). Each
item becomes one `lines` entry carrying what its ancestors say: the purchase order of its
order level and the marks (MAN, e.g. the SSCC-18 label) of its nearest tare or pack.
"""

from __future__ import annotations

from decimal import Decimal
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
    from waybill.connectors.edi.models import Segment


def _level(hl: str | None, parent: str | None, code: str | None) -> dict[str, Any]:
    return {
        "hl": hl,
        "parent_hl": parent,
        "level": code,
        "purchase_order": None,
        "purchase_order_date": None,
        "marks": [],
        "references": [],
        "parties": [],
    }


def _new_line(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "hl": node["hl"],
        "parent_hl": node["parent_hl"],
        "line_number": None,
        "product_ids": [],
        "quantity_shipped": None,
        "unit": None,
        "quantity_ordered": None,
        "description": None,
        "purchase_order": None,
        "marks": [],
    }


def _ancestors(node: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The chain of levels above `node`, nearest first (stops at a loop or an unknown parent)."""
    chain: list[dict[str, Any]] = []
    seen = {node["hl"]}
    parent = node["parent_hl"]
    while parent is not None and parent in nodes and parent not in seen:
        seen.add(parent)
        chain.append(nodes[parent])
        parent = nodes[parent]["parent_hl"]
    return chain


def build_ship_notice(
    body: list[Segment], header: dict[str, Any]
) -> tuple[dict[str, Any], list[RecordIssue]]:
    """Build the 856 record from ST..SE: BSN ids, shipment details, orders, packs and item lines.

    Shipment level (HL03 S): TD1 packaging and weight, TD5 carrier, REF, DTM, N1 parties.
    Order level (O): PRF purchase order. Tare/pack (T/P): MAN marks. Item (I): LIN product ids,
    SN1 quantity shipped and unit, PO4, PID description. CTT01, when sent, must equal the
    number of HL segments and CTT02 the sum of SN1-02 (`quantity_mismatch`). Returns
    (record, issues); never raises on data.
    """
    record: dict[str, Any] = {
        **header,
        "purpose_code": None,
        "shipment_id": None,
        "shipment_date": None,
        "shipment_time": None,
        "hierarchy_code": None,
        "packaging_code": None,
        "lading_quantity": None,
        "weight": None,
        "weight_unit": None,
        "carrier": None,
        "references": [],
        "dates": [],
        "parties": [],
        "orders": [],
        "lines": [],
        "hl_count": 0,
    }
    issues: list[RecordIssue] = []
    nodes: dict[str, dict[str, Any]] = {}
    # Before the first HL, what follows BSN (DTM, REF) belongs to the shipment.
    node: dict[str, Any] = _level(None, None, "S")
    line: dict[str, Any] | None = None
    current_party: dict[str, Any] | None = None
    shipped: list[Decimal] = []
    ctt: tuple[int, Segment] | None = None
    for at, seg in enumerate(body):
        tag = seg[0]
        if tag == "BSN":
            v = values(seg, 5)
            record["purpose_code"], record["shipment_id"] = v[1], v[2]
            record["shipment_date"], record["shipment_time"] = v[3], v[4]
            record["hierarchy_code"] = v[5]
            check_date(seg, at, 3, issues)
        elif tag == "HL":
            v = values(seg, 3)
            node = _level(v[1], v[2], v[3])
            record["hl_count"] += 1
            if v[1] is not None:
                nodes[v[1]] = node
            line = _new_line(node) if v[3] == "I" else None
            if line is not None:
                record["lines"].append(line)
            elif v[3] == "O":
                record["orders"].append(node)
            current_party = None
        elif tag == "TD1" and node["level"] == "S":
            v = values(seg, 8)
            record["packaging_code"], record["lading_quantity"] = v[1], v[2]
            record["weight"], record["weight_unit"] = v[7], v[8]
        elif tag == "TD5" and node["level"] == "S":
            v = values(seg, 5)
            record["carrier"] = {
                "id_qualifier": v[2],
                "id": v[3],
                "scac": v[3] if v[2] == "2" else None,
                "transportation_method": v[4],
                "routing": v[5],
            }
        elif tag == "REF":
            (record["references"] if node["level"] == "S" else node["references"]).append(
                reference(seg)
            )
        elif tag == "DTM":
            record["dates"].append(dated(seg))
            check_date(seg, at, 2, issues)
        elif tag == "N1":
            current_party = party(seg)
            (record["parties"] if node["level"] == "S" else node["parties"]).append(current_party)
        elif tag in ("N2", "N3", "N4"):
            place_party(current_party, seg)
        elif tag == "PRF":
            node["purchase_order"] = element(seg, 1)
            node["purchase_order_date"] = element(seg, 4)
        elif tag == "MAN":
            node["marks"].append({"qualifier": element(seg, 1), "number": element(seg, 2)})
        elif line is not None and tag == "LIN":
            line["line_number"] = element(seg, 1)
            line["product_ids"] = product_ids(seg, 2, 31)
        elif line is not None and tag == "SN1":
            line["quantity_shipped"], line["unit"] = element(seg, 2), element(seg, 3)
            line["quantity_ordered"] = element(seg, 5)
            amount = quantity(seg, at, 2, issues)
            if amount is not None:
                shipped.append(amount)
        elif line is not None and tag == "PID":
            line["description"] = line["description"] or element(seg, 5)
        elif tag == "CTT":
            ctt = (at, seg)
    for item in record["lines"]:
        for level in _ancestors(item, nodes):
            if item["purchase_order"] is None and level["purchase_order"] is not None:
                item["purchase_order"] = level["purchase_order"]
            if not item["marks"] and level["level"] in ("T", "P") and level["marks"]:
                item["marks"] = level["marks"]
    if ctt is not None:
        at, seg = ctt
        hl_declared = quantity(seg, at, 1, issues)
        check_total(
            hl_declared, [Decimal(record["hl_count"])], ("CTT01", at, 1), "HL segments", issues
        )
        check_total(quantity(seg, at, 2, issues), shipped, ("CTT02", at, 2), "SN1-02", issues)
    if record["shipment_id"] is None:
        issues.append(RecordIssue("missing_bsn", "856 has no BSN-02 shipment id", 0, None))
    return record, issues
