"""997 functional acknowledgments for what a parse received, and writing them to an outbox.

One 997 interchange answers each received interchange: sender and receiver swapped, one
FA group, and one 997 set per received functional group (AK1), with AK2/AK5 per received
transaction set (AK3/AK4 where the faulty segment/element is known) and AK9 for the group.
A 997 is a syntax acknowledgment: business checks (a 210 whose total is off) do not appear.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from waybill.connectors.edi.models import FATAL_SET_CODES, element

if TYPE_CHECKING:
    from collections.abc import Callable

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
# Segment-level notes: our code -> (AK304 segment syntax code, AK403 element syntax code).
_SEGMENT_NOTES = {
    "bad_tag": ("1", None),
    "bad_bytes": ("8", "6"),
    "control_character": ("8", "6"),
    "bad_number": ("8", "6"),
    "bad_date": ("8", "8"),
    "bad_time": ("8", "9"),
    "element_too_long": ("8", "5"),
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
            fatal = fatal or err.code in FATAL_SET_CODES
        elif err.code in _SEGMENT_NOTES and err.segment_tag and err.set_position:
            segment_code, element_code = _SEGMENT_NOTES[err.code]
            notes.append(_segment("AK3", err.segment_tag, str(err.set_position), "", segment_code))
            if element_code and err.element_index:
                notes.append(_segment("AK4", str(err.element_index), "", element_code))
            codes.append("5")
            fatal = fatal or err.code in FATAL_SET_CODES
    unique = list(dict.fromkeys(codes))[:5]
    if fatal:
        return "R", unique, notes
    return ("E" if unique else "A"), unique, notes


class AckWriter:
    """Writes 997s as a parse closes sets, groups and interchanges (a parser listener).

    Each line goes to `write` at once; per open group only counters are kept, so a file of a
    million sets is acknowledged in constant memory. The first 997 interchange's ISA13/GS06 is
    `control_number` (the next ones count up), by default the received ISA13 so a rerun gives
    the same numbers; `now` stamps ISA09/ISA10 and GS04/GS05. Writes nothing for an
    interchange that holds only FA groups (acknowledgments are never acknowledged).
    """

    def __init__(
        self,
        write: Callable[[str], object],
        *,
        control_number: int | None = None,
        now: datetime | None = None,
    ) -> None:
        """`write(text)` receives the 997 text in order, one or more whole segments a call."""
        self._write = write
        self._control_number = control_number
        self._now = now or datetime.now(UTC)
        self._offset = -1  # index of the received interchange being answered
        self._control = 0
        self._groups = 0  # 997 sets written into the current 997 interchange
        self._group: FunctionalGroup | None = None  # the received group being acknowledged
        self._lines = 0  # segments of the current 997 set so far
        self._accepted = 0
        self._any_errors = False
        self._received: Interchange | None = None
        self.acked: list[tuple[str | None, str]] = []  # (sender id, ISA13) of those answered

    def interchange_opened(self, interchange: Interchange) -> None:
        """A received interchange starts: its 997 interchange is written once a group needs it."""
        self._offset += 1
        self._groups = 0
        self._received = interchange
        if self._control_number is not None:
            self._control = self._control_number + self._offset
        elif interchange.control.isdigit():
            self._control = int(interchange.control)
        else:
            self._control = self._offset + 1

    def set_closed(self, group: FunctionalGroup, tset: TransactionSet) -> None:
        """Write AK2, the AK3/AK4 notes and AK5 for one received set."""
        if not self._open_group(group):
            return
        status, codes, notes = _set_status(tset)
        lines = [_segment("AK2", tset.type or "", tset.st_control or ""), *notes]
        lines.append(_segment("AK5", status, *codes))
        self._emit(lines)
        self._accepted += status in ("A", "E")
        self._any_errors = self._any_errors or status != "A"

    def group_closed(self, group: FunctionalGroup) -> None:
        """Write AK9 and SE for the received group (AK1 first if it held no set)."""
        if not self._open_group(group):
            return
        group_codes = list(
            dict.fromkeys(_AK9_CODES[e.code] for e in group.errors if e.code in _AK9_CODES)
        )
        received = group.set_count
        declared = element(group.ge, 1) if group.ge else None
        included = str(int(declared)) if declared and declared.isdigit() else str(received)
        if self._accepted == 0:
            status = "R"
        elif self._accepted < received:
            status = "P"
        elif self._any_errors or group_codes:
            status = "E"
        else:
            status = "A"
        counts = (included, str(received), str(self._accepted))
        self._emit([_segment("AK9", status, *counts, *group_codes[:5])])
        self._emit([_segment("SE", str(self._lines + 1), f"{self._groups:04d}")])
        self._group = None

    def interchange_closed(self, interchange: Interchange) -> None:
        """Write GE and IEA when a 997 interchange was started for `interchange`."""
        if self._groups:
            self._emit(
                [
                    _segment("GE", str(self._groups), str(self._control % 1_000_000_000)),
                    _segment("IEA", "1", f"{self._control % 1_000_000_000:09d}"),
                ]
            )
        self._groups = 0

    def _open_group(self, group: FunctionalGroup) -> bool:
        """Start the 997 set for `group` (and its interchange) if not yet; False for FA groups."""
        if group.functional_id in _ACK_GROUPS:
            return False
        if self._group is group:
            return True
        if self._groups == 0:
            self._start_interchange(group)
        self._groups += 1
        self._group = group
        self._lines = 0
        self._accepted = 0
        self._any_errors = False
        self._emit(
            [
                _segment("ST", "997", f"{self._groups:04d}"),
                _segment("AK1", group.functional_id or "", group.control or ""),
            ]
        )
        return True

    def _start_interchange(self, group: FunctionalGroup) -> None:
        """Write the ISA and GS of a 997 interchange answering the current received one."""
        interchange = self._current
        now = self._now
        isa_control = f"{self._control % 1_000_000_000:09d}"
        self.acked.append((interchange.sender_id, interchange.control))
        isa = SEPARATOR.join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                _pad(interchange.receiver_qualifier, 2),
                _pad(interchange.receiver_id, 15),
                _pad(interchange.sender_qualifier, 2),
                _pad(interchange.sender_id, 15),
                now.strftime("%y%m%d"),
                now.strftime("%H%M"),
                "U",
                "00401",
                isa_control,
                "0",
                element(interchange.isa, 15) or "P",
                COMPONENT,
            ]
        )
        gs = _segment(
            "GS",
            "FA",
            group.receiver_id or "",
            group.sender_id or "",
            now.strftime("%Y%m%d"),
            now.strftime("%H%M"),
            str(self._control % 1_000_000_000),
            "X",
            "004010",
        )
        self._write(isa + TERMINATOR + "\n" + gs + "\n")

    def _emit(self, segments: list[str]) -> None:
        self._lines += len(segments)
        self._write("".join(segment + "\n" for segment in segments))

    @property
    def _current(self) -> Interchange:
        assert self._received is not None  # set by interchange_opened before any group
        return self._received

    def name(self) -> str | None:
        """The outbox file name for what was written (see `ack_file_name`), None if nothing."""
        if not self.acked:
            return None
        return _file_name(self.acked[0][0], self.acked[0][1], len(self.acked))


def _pad(value: str | None, width: int) -> str:
    return (value or "").ljust(width)[:width]


def _replay(result: ParseResult, writer: AckWriter) -> None:
    """Tell `writer` about every envelope a retained parse holds, in file order."""
    for interchange in result.interchanges:
        writer.interchange_opened(interchange)
        for group in interchange.groups:
            for tset in group.sets:
                writer.set_closed(group, tset)
            writer.group_closed(group)
        writer.interchange_closed(interchange)


def build_997(
    result: ParseResult, *, control_number: int | None = None, now: datetime | None = None
) -> str:
    """Return the 997 text acknowledging every interchange in `result` ("" when none).

    `result` must come from `parse_file`/`parse_bytes` (sets kept); see AckWriter for the
    control numbers and `now`. Reads and writes nothing.
    """
    out = io.StringIO()
    _replay(result, AckWriter(out.write, control_number=control_number, now=now))
    return out.getvalue()


def _file_name(sender_id: str | None, control: str, count: int) -> str:
    sender = re.sub(r"[^A-Za-z0-9_-]+", "-", sender_id or "unknown").strip("-") or "unknown"
    number = re.sub(r"[^A-Za-z0-9]+", "", control) or "0"
    more = f"_plus{count - 1}" if count > 1 else ""
    return f"997_{sender}_{number}{more}.edi"


def ack_file_name(result: ParseResult) -> str | None:
    """The deterministic outbox name for `result`'s 997: the sender id and first ISA13."""
    acked = [
        ic
        for ic in result.interchanges
        if any(g.functional_id not in _ACK_GROUPS for g in ic.groups)
    ]
    if not acked:
        return None
    return _file_name(acked[0].sender_id, acked[0].control, len(acked))


class AckFile:
    """A 997 written into `outbound_dir` while a file is streamed, published by `commit()`.

    The text goes to a hidden temporary file in `outbound_dir` (created if missing); `commit`
    renames it to the deterministic name (overwriting a rerun's) and returns the path, or
    removes it and returns None when nothing needed acknowledging; `discard` removes it.
    Raises OSError when the folder or file cannot be created or renamed. A write that fails
    while the parse runs (a full disk) never stops the parse: it is kept and raised by
    `commit`, which publishes nothing then.
    """

    def __init__(self, outbound_dir: Path, *, now: datetime | None = None) -> None:
        """Open the temporary file; `writer` is the listener to hand to the parser."""
        self._dir = Path(outbound_dir)
        self._dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".997.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._handle = os.fdopen(fd, "w", encoding="ascii", errors="replace", newline="")
        self._failed: OSError | None = None
        self.writer = AckWriter(self._write, now=now)

    def _write(self, text: str) -> None:
        if self._failed is None:
            try:
                self._handle.write(text)
            except OSError as exc:
                self._failed = exc

    def commit(self) -> Path | None:
        """Publish the 997 atomically under its deterministic name; None when there is none."""
        if self._failed is not None:
            self.discard()
            raise self._failed
        self._handle.close()
        name = self.writer.name()
        if name is None:
            self._tmp.unlink(missing_ok=True)
            return None
        target = self._dir / name
        os.replace(self._tmp, target)
        return target

    def discard(self) -> None:
        """Drop the unfinished 997 (the file was not read through, or a write failed)."""
        with contextlib.suppress(OSError):  # a failed flush: the file is dropped anyway
            self._handle.close()
        self._tmp.unlink(missing_ok=True)


def write_997(
    result: ParseResult, outbound_dir: Path, *, now: datetime | None = None
) -> Path | None:
    """Write `result`'s 997 into `outbound_dir` (created if missing) and return its path.

    `result` must come from `parse_file`/`parse_bytes` (sets kept). The name comes from the
    received sender id and ISA13, so a rerun overwrites the same file instead of adding one;
    the write is atomic (temp file, then rename). Returns None, writing nothing, when there is
    nothing to acknowledge. Raises OSError if it cannot write.
    """
    if ack_file_name(result) is None:
        return None
    ack = AckFile(outbound_dir, now=now)
    try:
        _replay(result, ack.writer)
    except BaseException:
        ack.discard()
        raise
    return ack.commit()
