"""Element length caps: the longest value each X12 element may hold before a set is rejected.

The caps are the X12 data element dictionary's maximum lengths (version 004010, or the longer
of 004010 and 005010 where they differ, e.g. L11-01 and N9-02 grew from 30 to 50) for every
element a record builder reads; every other element has `DEFAULT_CAP`. Trailing space padding
does not count. A value over its cap is never a real identifier: left in, it would become a raw
row and a natural key that Postgres cannot index (a 9.3k-character B10-01 did), so the set is
rejected before its 997 is sent.
"""

from __future__ import annotations

from operator import gt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from waybill.connectors.edi.models import Segment

# Longer than any non-binary X12 element (the longest, free-form text, is 264 in 004010).
DEFAULT_CAP = 1000
# Binary segments carry their payload in one element (BIN02, BDS03): not capped.
_UNCAPPED = frozenset({"BIN", "BDS"})

# Caps of elements 1, 2, 3, ... per segment tag (dates are DT 8, times TM 4-8).
ELEMENT_CAPS: dict[str, tuple[int, ...]] = {
    # envelope
    "GS": (2, 15, 15, 8, 8, 9, 2, 12),
    "ST": (3, 9, 35),
    "SE": (10, 9),
    "GE": (6, 9),
    "IEA": (5, 9),
    # shared
    "N1": (3, 60, 2, 80),
    "N2": (60, 60),
    "N3": (55, 55),
    # State/province (N4-02, MS1-02) is ID 2, but real files send 3-character ones.
    "N4": (30, 3, 15, 3),
    "N9": (3, 50, 80),
    "L11": (50, 3, 80),
    "REF": (3, 50, 80),
    "G62": (2, 8, 2, 8),
    "LX": (6,),
    # 214
    "B10": (30, 30, 4),
    "AT7": (2, 2, 2, 2, 8, 8, 2),
    "MS1": (30, 3, 3),
    "MS2": (4, 10, 2),
    "AT8": (1, 1, 10, 7),
    # 210
    "B3": (1, 22, 30, 2, 1, 8, 12, 1, 8, 3, 4),
    "C3": (3,),
    "L1": (3, 15, 2, 12),
    "L3": (10, 2, 15, 2, 12),
    # 856
    "BSN": (2, 30, 8, 8, 4),
    "HL": (12, 12, 2, 1),
    "TD1": (5, 7, 1, 30, 30, 2, 10, 2),
    "TD5": (2, 2, 80, 2, 35),
    "PRF": (22, 30, 2, 8),
    "LIN": (20, 2, 48, 2, 48, 2, 48),
    "SN1": (20, 10, 2, 15, 9, 2),
    "PID": (1, 3, 2, 12, 80),
    # 940 / 945
    "W05": (1, 22, 22, 6, 22, 2, 2),
    "W06": (1, 22, 8, 30, 30, 22, 22, 6),
    "W01": (15, 2, 12, 2, 48, 2, 48),
    "W12": (2, 9, 9, 9, 2, 12, 2, 48),
    "W03": (10, 10, 2),
    "W76": (10, 10, 2),
    "W27": (2, 4, 35),
}
# Per tag, the cap of every position (0 is the tag), padded with DEFAULT_CAP, so one C-level
# comparison of all lengths clears a sound segment.
_WIDTH = 64
_DEFAULT_LIMITS = (DEFAULT_CAP,) * _WIDTH
_LIMITS = {
    tag: (DEFAULT_CAP, *(cap or DEFAULT_CAP for cap in caps), *_DEFAULT_LIMITS)[:_WIDTH]
    for tag, caps in ELEMENT_CAPS.items()
}


def over_cap(seg: Segment) -> tuple[int, int] | None:
    """Return (element index, cap) of the first element of `seg` longer than its cap, else None.

    `seg[0]` is the tag. Reads only `seg`; never raises.
    """
    limits = _LIMITS.get(seg[0], _DEFAULT_LIMITS)
    if not any(map(gt, map(len, seg), limits)) and (
        len(seg) <= _WIDTH or max(map(len, seg)) <= DEFAULT_CAP
    ):
        return None
    if seg[0] in _UNCAPPED:
        return None
    for index in range(1, len(seg)):
        cap = limits[index] if index < _WIDTH else DEFAULT_CAP
        value = seg[index]
        if len(value) > cap and len(value.rstrip(" ")) > cap:
            return index, cap
    return None
