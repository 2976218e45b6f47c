"""Structured EDI errors: what went wrong, and where (file, interchange, group, set, segment)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Error levels: `envelope` problems break X12 structure (counts, control numbers, missing
# trailers, delimiters); `syntax` problems sit inside one segment (bad bytes, bad tag);
# `record` problems are business checks on a modelled set (a 210 whose total is off).
ENVELOPE = "envelope"
SYNTAX = "syntax"
RECORD = "record"


@dataclass(slots=True)
class EdiError:
    """One problem found in an X12 file, with everything needed to find it again.

    `segment_position` is the 1-based ordinal of the segment in the file (ISA = 1);
    `set_position` is its 1-based position inside its transaction set (ST = 1), which is
    what a 997 AK3 reports. `element` names the element the X12 way (`SE01`, `L1-04`).
    """

    file: str
    code: str
    message: str
    level: str = ENVELOPE
    isa_control: str | None = None
    gs_control: str | None = None
    st_control: str | None = None
    segment_tag: str | None = None
    segment_position: int | None = None
    set_position: int | None = None
    element: str | None = None
    element_index: int | None = None

    def __str__(self) -> str:
        """Render the one-line form printed on stderr and stored in dead letters."""
        where = []
        if self.isa_control is not None:
            where.append(f"interchange {self.isa_control}")
        if self.gs_control is not None:
            where.append(f"group {self.gs_control}")
        if self.st_control is not None:
            where.append(f"ST {self.st_control}")
        head = self.file + (": " + ", ".join(where) if where else "")
        tail = ""
        if self.segment_tag is not None and self.segment_position is not None:
            tail = f" (segment {self.segment_tag} at #{self.segment_position})"
        elif self.segment_position is not None:
            tail = f" (segment #{self.segment_position})"
        return f"{head}: {self.message}{tail}"

    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: the rendered `text` plus every structured field."""
        return {
            "text": str(self),
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "file": self.file,
            "isa_control": self.isa_control,
            "gs_control": self.gs_control,
            "st_control": self.st_control,
            "segment_tag": self.segment_tag,
            "segment_position": self.segment_position,
            "element": self.element,
        }
