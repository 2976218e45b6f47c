"""997 functional acknowledgments for what a parse received, and writing them to an outbox.

One 997 interchange answers each received interchange: sender and receiver swapped, one
FA group, and one 997 set per received functional group (AK1), with AK2/AK5 per received
transaction set (AK3/AK4 where the faulty segment/element is known) and AK9 for the group.
A 997 is a syntax acknowledgment: business checks (a 210 whose total is off) do not appear.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from waybill.connectors.edi.models import element

if TYPE_CHECKING:
    from waybill.connectors.edi.models import (
        FunctionalGroup,
        Interchange,
        ParseResult,
        TransactionSet,
    )

SEPARATOR = "*"
TERMINATOR = "~"
COMPONENT = ">"
# Functional groups that are themselves acknowledgments are never acknowledged.
_ACK_GROUPS = frozenset({"FA"})

# AK5 (element 718) reject/error codes, by our error code.
_AK5_CODES = {
    "se_missing": "2",
    "se_control": "3",
    "se_count": "4",
    "se_count_invalid": "4",
    "st_type_missing": "6",
    "st_control_missing": "7",
    "st_control_duplicate": "23",
}
_FATAL_AK5 = frozenset({"se_missing", "st_type_missing", "st_control_missing"})
# Segment-level notes: our code -> (AK304 segment syntax code, AK403 element syntax code).
_SEGMENT_NOTES = {
    "bad_tag": ("1", None),
    "bad_bytes": ("8", "6"),
    "control_character": ("8", "6"),
    "bad_number": ("8", "6"),
    "bad_date": ("8", "8"),
    "bad_time": ("8", "9"),
}
# AK9 (element 716) codes, by our group error code.
_AK9_CODES = {
    "ge_missing": "2",
    "ge_control": "3",
    "ge_count": "4",
    "ge_count_invalid": "4",
    "gs_control_missing": "5",
}


def _segment(*elements: str) -> str:
    # Trailing empty elements are dropped, as X12 requires.
    parts = list(elements)
    while parts and parts[-1] == "":
        parts.pop()
    return SEPARATOR.join(parts) + TERMINATOR


def _set_status(tset: TransactionSet) -> tuple[str, list[str], list[str]]:
    """AK5 status (A/E/R), its AK5 codes, and the AK3/AK4 note segments for one set."""
    codes: list[str] = []
    notes: list[str] = []
    fatal = False
    for err in tset.errors:
        if err.code in _AK5_CODES:
            codes.append(_AK5_CODES[err.code])
            fatal = fatal or err.code in _FATAL_AK5
        elif err.code in _SEGMENT_NOTES and err.segment_tag and err.set_position:
            segment_code, element_code = _SEGMENT_NOTES[err.code]
            notes.append(_segment("AK3", err.segment_tag, str(err.set_position), "", segment_code))
            if element_code and err.element_index:
                notes.append(_segment("AK4", str(err.element_index), "", element_code))
            codes.append("5")
    unique = list(dict.fromkeys(codes))[:5]
    if fatal:
        return "R", unique, notes
    return ("E" if unique else "A"), unique, notes


def _group_997(group: FunctionalGroup, st_control: str) -> list[str]:
    """The ST..SE of the 997 set that acknowledges one received group."""
    body = [
        _segment("ST", "997", st_control),
        _segment("AK1", group.functional_id or "", group.control or ""),
    ]
    accepted = 0
    any_errors = False
    for tset in group.sets:
        status, codes, notes = _set_status(tset)
        body.append(_segment("AK2", tset.type or "", tset.st_control or ""))
        body.extend(notes)
        body.append(_segment("AK5", status, *codes))
        accepted += status in ("A", "E")
        any_errors = any_errors or status != "A"
    group_codes = list(
        dict.fromkeys(_AK9_CODES[e.code] for e in group.errors if e.code in _AK9_CODES)
    )
    received = len(group.sets)
    declared = element(group.ge, 1) if group.ge else None
    included = str(int(declared)) if declared and declared.isdigit() else str(received)
    if accepted == 0:
        status = "R"
    elif accepted < received:
        status = "P"
    elif any_errors or group_codes:
        status = "E"
    else:
        status = "A"
    body.append(_segment("AK9", status, included, str(received), str(accepted), *group_codes[:5]))
    body.append(_segment("SE", str(len(body) + 1), st_control))
    return body


def _pad(value: str | None, width: int) -> str:
    return (value or "").ljust(width)[:width]


def _interchange_997(ic: Interchange, control: int, now: datetime) -> str | None:
    """One 997 interchange answering `ic`, or None when it holds nothing to acknowledge."""
    groups = [g for g in ic.groups if g.functional_id not in _ACK_GROUPS]
    if not groups:
        return None
    isa_control = f"{control % 1_000_000_000:09d}"
    usage = element(ic.isa, 15) or "P"
    lines = [
        SEPARATOR.join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                _pad(ic.receiver_qualifier, 2),
                _pad(ic.receiver_id, 15),
                _pad(ic.sender_qualifier, 2),
                _pad(ic.sender_id, 15),
                now.strftime("%y%m%d"),
                now.strftime("%H%M"),
                "U",
                "00401",
                isa_control,
                "0",
                usage,
                COMPONENT,
            ]
        )
        + TERMINATOR,
    ]
    first = groups[0]
    group_control = str(control % 1_000_000_000)
    lines.append(
        _segment(
            "GS",
            "FA",
            first.receiver_id or "",
            first.sender_id or "",
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            group_control,
            "X",
            "004010",
        )
    )
    for number, group in enumerate(groups, start=1):
        lines.extend(_group_997(group, f"{number:04d}"))
    lines.append(_segment("GE", str(len(groups)), group_control))
    lines.append(_segment("IEA", "1", isa_control))
    return "\n".join(lines) + "\n"


def build_997(
    result: ParseResult, *, control_number: int | None = None, now: datetime | None = None
) -> str:
    """Return the 997 text acknowledging every interchange in `result` ("" when none).

    `control_number` is the ISA13/GS06 of the first 997 interchange (the next ones count
    up); by default it is the received ISA13, so a rerun produces the same numbers. `now`
    (default: the current UTC time) stamps ISA09/ISA10 and GS04/GS05. Reads and writes nothing.
    """
    stamp = now or datetime.now(UTC)
    texts = []
    for offset, ic in enumerate(result.interchanges):
        if control_number is not None:
            control = control_number + offset
        else:
            control = int(ic.control) if ic.control.isdigit() else offset + 1
        text = _interchange_997(ic, control, stamp)
        if text is not None:
            texts.append(text)
    return "".join(texts)


def ack_file_name(result: ParseResult) -> str | None:
    """The deterministic outbox name for `result`'s 997: the sender id and first ISA13."""
    acked = [
        ic
        for ic in result.interchanges
        if any(g.functional_id not in _ACK_GROUPS for g in ic.groups)
    ]
    if not acked:
        return None
    first = acked[0]
    sender = re.sub(r"[^A-Za-z0-9_-]+", "-", first.sender_id or "unknown").strip("-") or "unknown"
    control = re.sub(r"[^A-Za-z0-9]+", "", first.control) or "0"
    more = f"_plus{len(acked) - 1}" if len(acked) > 1 else ""
    return f"997_{sender}_{control}{more}.edi"


def write_997(
    result: ParseResult, outbound_dir: Path, *, now: datetime | None = None
) -> Path | None:
    """Write `result`'s 997 into `outbound_dir` (created if missing) and return its path.

    The name comes from the received sender id and ISA13, so a rerun overwrites the same
    file instead of adding one; the write is atomic (temp file, then rename). Returns None,
    writing nothing, when there is nothing to acknowledge. Raises OSError if it cannot write.
    """
    name = ack_file_name(result)
    text = build_997(result, now=now)
    if name is None or not text:
        return None
    outbound_dir = Path(outbound_dir)
    outbound_dir.mkdir(parents=True, exist_ok=True)
    target = outbound_dir / name
    fd, tmp = tempfile.mkstemp(dir=outbound_dir, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii", errors="replace", newline="") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
