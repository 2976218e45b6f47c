"""What a parse returns: interchanges, functional groups, transaction sets and the file result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from waybill.connectors.edi.delimiters import Delimiters
    from waybill.connectors.edi.errors import EdiError

Segment = list[str]


def element(segment: Segment, index: int) -> str | None:
    """Return element `index` of a segment stripped of padding, or None when absent or empty."""
    if index < len(segment):
        value = segment[index].strip()
        return value or None
    return None


def values(segment: Segment, count: int) -> list[str | None]:
    """Return elements 0..count stripped, None for absent or empty ones (one pass, for speed)."""
    out: list[str | None] = [v.strip() or None for v in segment[: count + 1]]
    if len(out) <= count:
        out.extend([None] * (count + 1 - len(out)))
    return out


def element_name(tag: str, index: int) -> str:
    """Name an element the X12 way: `SE01`, `AT705`, and `B3-07` where the tag ends in a digit."""
    return f"{tag}-{index:02d}" if tag[-1:].isdigit() else f"{tag}{index:02d}"


@dataclass(slots=True)
class TransactionSet:
    """One ST..SE transaction set and the ISA/GS headers it sits in.

    `segments` is `envelope + body`: the ISA and GS headers first (so a set stands alone when
    written as one JSON line), then ST through SE. `position` is the file ordinal of the ST.
    `closed` is False when the SE never came (truncated); such a set has no `record`.
    """

    file: str
    isa_control: str | None
    gs_control: str | None
    st_control: str | None
    type: str | None
    envelope: list[Segment]
    body: list[Segment]
    position: int
    record: dict[str, Any] | None = None
    errors: list[EdiError] = field(default_factory=list)
    closed: bool = False

    @property
    def segments(self) -> list[Segment]:
        """ISA, GS, then ST..SE, each segment as `[tag, element1, element2, ...]`."""
        return self.envelope + self.body

    @property
    def accepted(self) -> bool:
        """True when the set is complete enough to use (it may still carry errors)."""
        return self.closed and not any(e.code in FATAL_SET_CODES for e in self.errors)

    def to_json_dict(self, *, segments: bool = True) -> dict[str, Any]:
        """Return the CLI's JSON line for this set; `segments=False` leaves the segments out."""
        out: dict[str, Any] = {
            "file": self.file,
            "isa_control": self.isa_control,
            "gs_control": self.gs_control,
            "st_control": self.st_control,
            "type": self.type,
        }
        if segments:
            out["segments"] = self.segments
        out["record"] = self.record
        out["errors"] = [e.to_json_dict() for e in self.errors]
        return out


# A set with one of these errors is rejected (997 AK5 R) and carries no record.
FATAL_SET_CODES = frozenset(
    {"se_missing", "st_type_missing", "st_control_missing", "element_too_long"}
)


@dataclass(slots=True)
class FunctionalGroup:
    """One GS..GE functional group; `errors` are group-level (GE counts, control numbers)."""

    gs: Segment
    position: int
    control: str | None
    functional_id: str | None
    sender_id: str | None
    receiver_id: str | None
    version: str | None
    sets: list[TransactionSet] = field(default_factory=list)
    ge: Segment | None = None
    errors: list[EdiError] = field(default_factory=list)
    # Sets seen in the group; `sets` stays empty when the file is streamed.
    set_count: int = 0


@dataclass(slots=True)
class Interchange:
    """One ISA..IEA interchange; `errors` are interchange-level (ISA fields, IEA checks)."""

    isa: Segment
    position: int
    control: str
    delimiters: Delimiters
    groups: list[FunctionalGroup] = field(default_factory=list)
    iea: Segment | None = None
    errors: list[EdiError] = field(default_factory=list)
    # Groups seen in the interchange; `groups` stays empty when the file is streamed.
    group_count: int = 0

    @property
    def sender_qualifier(self) -> str | None:
        """ISA05."""
        return element(self.isa, 5)

    @property
    def sender_id(self) -> str | None:
        """ISA06, without padding."""
        return element(self.isa, 6)

    @property
    def receiver_qualifier(self) -> str | None:
        """ISA07."""
        return element(self.isa, 7)

    @property
    def receiver_id(self) -> str | None:
        """ISA08, without padding."""
        return element(self.isa, 8)


@dataclass(slots=True)
class ParseResult:
    """Everything read from one file.

    `transaction_sets` holds every set found, sound or not (each with its own `errors`);
    `errors` holds file, interchange and group errors (delimiters, ISA fields, GE/IEA checks,
    segments outside any envelope). `read_error` is set when the file could not be read.
    When the file is streamed (`stream_file`), `transaction_sets` and `interchanges` stay
    empty and the counts below say what was seen.
    """

    source: str
    transaction_sets: list[TransactionSet] = field(default_factory=list)
    interchanges: list[Interchange] = field(default_factory=list)
    errors: list[EdiError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    read_error: str | None = None
    set_count: int = 0
    sets_with_errors: int = 0
    interchange_count: int = 0

    @property
    def ok(self) -> bool:
        """True when the file was read and neither it nor any set carries an error."""
        return (
            self.read_error is None
            and not self.errors
            and not self.sets_with_errors
            and not any(ts.errors for ts in self.transaction_sets)
        )

    @property
    def rejected(self) -> bool:
        """True when nothing usable came out of the file (unreadable, or no set at all)."""
        return self.read_error is not None or not (self.transaction_sets or self.set_count)

    def all_errors(self) -> Iterator[EdiError]:
        """Every error, file-level and per set, in file order (errors without a position first)."""
        # At the same segment, a set's error comes before the group's and interchange's.
        keyed = [
            (e.segment_position or -1, 0, i, e)
            for ts in self.transaction_sets
            for i, e in enumerate(ts.errors)
        ]
        keyed.extend((e.segment_position or -1, 1, i, e) for i, e in enumerate(self.errors))
        keyed.sort(key=lambda item: item[:3])
        return (item[3] for item in keyed)
