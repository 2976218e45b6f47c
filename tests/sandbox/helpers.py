"""Helpers for the sandbox tests: constants, truth loading, an independent X12 envelope check."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from waybill_sandbox.truth import write_truth
from waybill_sandbox.world import World

if TYPE_CHECKING:
    from waybill_sandbox.faults import FaultConfig

SEED = 7
SHIPMENTS = 120
ERP_HEADERS = {"Authorization": "Bearer sandbox-erp-token"}


def truth_of(
    seed: int,
    shipments: int,
    faults: FaultConfig | None = None,
    *,
    changes: float = 0.0,
    days: int | None = None,
    clock: int | None = None,
    tick_hours: float = 24.0,
) -> dict:
    """The parsed truth JSON of a world (``clock``/``tick_hours``: the billing oracle's runs)."""
    buf = io.StringIO()
    write_truth(
        World(seed, shipments, days=days, changes=changes),
        buf,
        faults,
        clock=clock,
        tick_hours=tick_hours,
    )
    return json.loads(buf.getvalue())


def x12_segments(data: bytes) -> tuple[list[list[str]], str]:
    """Split an X12 interchange into segments of elements, using the separators its ISA declares.

    Returns (segments, segment terminator). Raises ``AssertionError`` naming what is wrong.
    """
    text = data.decode("ascii")
    assert text.startswith("ISA"), "file does not start with ISA"
    assert len(text) >= 106, "ISA shorter than its fixed 106 characters"
    element = text[3]
    terminator = text[105]
    assert text.count(element, 0, 106) == 16, "ISA is not 16 fixed-width elements"
    raw = [s.strip("\r\n") for s in text.split(terminator)]
    return [s.split(element) for s in raw if s], terminator


def check_envelope(data: bytes) -> dict:
    """Assert every envelope rule and return counts: ISA/IEA control numbers and group count,
    GS/GE control numbers and set count, ST/SE control numbers and segment count."""
    segments, _ = x12_segments(data)
    assert segments[0][0] == "ISA" and segments[-1][0] == "IEA", "interchange not closed by IEA"
    isa, iea = segments[0], segments[-1]
    assert isa[13] == iea[2], f"ISA13 {isa[13]} != IEA02 {iea[2]}"
    groups = 0
    sets_total = 0
    i = 1
    while i < len(segments) - 1:
        gs = segments[i]
        assert gs[0] == "GS", f"expected GS, got {gs[0]}"
        groups += 1
        i += 1
        sets = 0
        seen_st: set[str] = set()
        while segments[i][0] != "GE":
            st = segments[i]
            assert st[0] == "ST", f"expected ST, got {st[0]}"
            start = i
            while segments[i][0] != "SE":
                i += 1
            se = segments[i]
            assert se[2] == st[2], f"SE02 {se[2]} != ST02 {st[2]}"
            assert int(se[1]) == i - start + 1, (
                f"SE01 {se[1]} != {i - start + 1} segments in set {st[2]}"
            )
            assert st[2] not in seen_st, f"duplicate ST02 {st[2]}"
            seen_st.add(st[2])
            sets += 1
            i += 1
        ge = segments[i]
        assert int(ge[1]) == sets, f"GE01 {ge[1]} != {sets} sets"
        assert ge[2] == gs[6], f"GE02 {ge[2]} != GS06 {gs[6]}"
        sets_total += sets
        i += 1
    assert int(iea[1]) == groups, f"IEA01 {iea[1]} != {groups} groups"
    return {"groups": groups, "sets": sets_total}
