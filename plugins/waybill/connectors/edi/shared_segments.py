"""Pieces the record builders share: the issue type, the N1 party loop, references, quantities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.models import element, element_name, values
from waybill.connectors.edi.numbers import NumberError, parse_real

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


def reference(seg: Segment) -> dict[str, Any]:
    """A REF, N9 or L11-style reference: qualifier (01), value (02), description (03)."""
    v = values(seg, 3)
    return {"qualifier": v[1], "value": v[2], "description": v[3]}


def dated(seg: Segment) -> dict[str, Any]:
    """A G62 or DTM date: qualifier (01), date (02), then G62's time qualifier and time (03/04),
    or DTM's time (03); kept as sent."""
    v = values(seg, 4)
    if seg[0] == "DTM":
        return {"qualifier": v[1], "date": v[2], "time_qualifier": None, "time": v[3]}
    return {"qualifier": v[1], "date": v[2], "time_qualifier": v[3], "time": v[4]}


def product_ids(seg: Segment, first: int, last: int) -> list[dict[str, str | None]]:
    """The (qualifier, id) pairs of a LIN/W01-style segment from element `first` to `last`."""
    pairs = []
    for index in range(first, last, 2):
        qualifier, value = element(seg, index), element(seg, index + 1)
        if value is not None:
            pairs.append({"qualifier": qualifier, "id": value})
    return pairs


def quantity(seg: Segment, at: int, index: int, issues: list[RecordIssue]) -> Decimal | None:
    """Read an X12 R (decimal) element as Decimal; a value that is not a number is an issue."""
    raw = element(seg, index)
    if raw is None:
        return None
    try:
        return parse_real(raw)
    except NumberError as exc:
        issues.append(RecordIssue("bad_number", f"{element_name(seg[0], index)} {exc}", at, index))
        return None


def check_total(
    declared: Decimal | None,
    counted: list[Decimal],
    where: tuple[str, int | None, int],
    what: str,
    issues: list[RecordIssue],
) -> None:
    """Add a `quantity_mismatch` issue when a declared total differs from the counted sum.

    `where` is (element name, segment index in ST..SE, element index) of the declared total.
    """
    name, at, index = where
    total = sum(counted, Decimal(0))
    if declared is not None and at is not None and declared != total:
        issues.append(
            RecordIssue(
                "quantity_mismatch",
                f"{name} declares {declared} but the {what} add up to {total}",
                at,
                index,
            )
        )


def check_date(seg: Segment, at: int, index: int, issues: list[RecordIssue]) -> None:
    """Add a `bad_date` issue when element `index` is sent but is not a CCYYMMDD calendar date.

    Staging reads these dates with `to_date`, which fails a whole build on a day 31 of February.
    """
    value = element(seg, index)
    if value is None:
        return
    try:
        valid = len(value) == 8 and value.isdigit() and bool(datetime.strptime(value, "%Y%m%d"))
    except ValueError:
        valid = False
    if not valid:
        name = element_name(seg[0], index)
        issues.append(
            RecordIssue("bad_date", f"{name} {value!r} is not a CCYYMMDD date", at, index)
        )
