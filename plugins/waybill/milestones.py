"""The canonical shipment lifecycle vocabulary and the one mapping of source codes into it.

The mapping lives in ``dbt_project/seeds/milestone_codes.csv``: dbt loads it as a seed (staging
models join it) and Python reads the same file here, so there is exactly one place where a
carrier's or a standard's status code gets its meaning. Columns:
``source_standard,source_code,milestone,description``.

A row whose milestone is ``unmapped`` is a deliberate decision (the code is known and has no
place in the lifecycle, e.g. a cancelled document); a code with no row at all is simply unknown.
Both come out as ``unmapped``.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

MILESTONES: tuple[str, ...] = (
    "order_released",
    "picked",
    "packed",
    "shipped",
    "tendered",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "pod_received",
)
"""Lifecycle milestones in the order a shipment passes them."""

EXCEPTIONS: tuple[str, ...] = ("delayed", "damaged", "refused", "returned", "lost")
"""Exception states; any of them open on a shipment blocks billing."""

UNMAPPED = "unmapped"
"""The value for a source code the mapping does not place in the lifecycle."""

VOCABULARY: frozenset[str] = frozenset((*MILESTONES, *EXCEPTIONS))
"""Every canonical value except ``unmapped``."""

SOURCE_STANDARDS: tuple[str, ...] = (
    "x12_214",
    "ups",
    "fedex",
    "dcsa",
    "easypost",
    "usps",
    "dhl",
    "shippo",
    "aftership",
)
"""The ``source_standard`` values the seed may use."""

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
MILESTONE_CODES_CSV = SEEDS_DIR / "milestone_codes.csv"
CSV_COLUMNS = ("source_standard", "source_code", "milestone", "description")


class MilestoneCodesError(ValueError):
    """The mapping CSV is malformed: names the file, the line and the column."""


def load_milestone_codes(path: Path | None = None) -> dict[tuple[str, str], str]:
    """Read the mapping CSV and return ``{(source_standard, source_code): milestone}``.

    Reads ``path`` (default: the dbt seed ``milestone_codes.csv``). Writes nothing.
    Raises :class:`MilestoneCodesError` naming the file, line and column when the header is
    wrong, a value is empty, a milestone is not in the vocabulary (or ``unmapped``), a
    source_standard is unknown, or a (source_standard, source_code) pair repeats.
    """
    path = path or MILESTONE_CODES_CSV
    mapping: dict[tuple[str, str], str] = {}
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise MilestoneCodesError(f"{path}: cannot read the milestone mapping: {exc}") from None
    with handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise MilestoneCodesError(
                f"{path}: line 1: header must be {','.join(CSV_COLUMNS)}, got {reader.fieldnames}"
            )
        for row in reader:
            line = reader.line_num
            for column in CSV_COLUMNS:
                if not (row.get(column) or "").strip():
                    raise MilestoneCodesError(f"{path}: line {line}: column {column!r} is empty")
            standard, code, milestone = row["source_standard"], row["source_code"], row["milestone"]
            if standard not in SOURCE_STANDARDS:
                raise MilestoneCodesError(
                    f"{path}: line {line}: column 'source_standard': unknown value {standard!r}"
                )
            if milestone not in VOCABULARY and milestone != UNMAPPED:
                raise MilestoneCodesError(
                    f"{path}: line {line}: column 'milestone': {milestone!r} is not canonical"
                )
            key = (standard, code)
            if key in mapping:
                raise MilestoneCodesError(
                    f"{path}: line {line}: duplicate (source_standard, source_code) {key}"
                )
            mapping[key] = milestone
    return mapping


@cache
def milestone_codes() -> dict[tuple[str, str], str]:
    """Return the seed mapping, read once per process (see :func:`load_milestone_codes`)."""
    return load_milestone_codes()


def lookup(source_standard: str, candidates: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """Map a source record to ``(source_code, milestone)``.

    ``candidates`` are the record's codes from most to least specific (e.g. DCSA
    ``EQUIPMENT:PICK:EMPTY`` then ``EQUIPMENT:PICK``); the first one the seed knows wins.
    When none is known the most specific candidate is returned with ``unmapped``.
    Raises ``ValueError`` if ``candidates`` is empty.
    """
    if not candidates:
        raise ValueError("lookup needs at least one candidate code")
    codes = milestone_codes()
    for code in candidates:
        milestone = codes.get((source_standard, code))
        if milestone is not None:
            return code, milestone
    return candidates[0], UNMAPPED
