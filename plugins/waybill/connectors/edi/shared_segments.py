"""Pieces every record builder shares: the issue type and the N1/N2/N3/N4 party loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.models import values

if TYPE_CHECKING:
    from waybill.connectors.edi.models import Segment


@dataclass(slots=True)
class RecordIssue:
    """A record-level problem: `index` is the segment's index in ST..SE (ST = 0), or None."""

    code: str
    message: str
    index: int | None
    element_index: int | None


def party(seg: Segment) -> dict[str, Any]:
    """Start a party from an N1: entity code N101, name N102, id qualifier N103, id N104."""
    v = values(seg, 4)
    return {
        "entity": v[1],
        "name": v[2],
        "id_qualifier": v[3],
        "id": v[4],
        "additional_names": [],
        "address_lines": [],
        "city": None,
        "state": None,
        "postal_code": None,
        "country": None,
    }


def place_party(current: dict[str, Any] | None, seg: Segment) -> None:
    """Add an N2 (more names), N3 (address lines) or N4 (place) to the party opened by N1."""
    if current is None:
        return
    tag = seg[0]
    v = values(seg, 4)
    if tag == "N2":
        current["additional_names"].extend(x for x in (v[1], v[2]) if x)
    elif tag == "N3":
        current["address_lines"].extend(x for x in (v[1], v[2]) if x)
    elif tag == "N4":
        current["city"], current["state"] = v[1], v[2]
        current["postal_code"], current["country"] = v[3], v[4]
