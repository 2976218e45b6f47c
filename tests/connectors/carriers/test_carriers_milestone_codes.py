"""The seed mapping: well-formed, unique, canonical, and covering the codes real files use."""

from __future__ import annotations

import csv
import re
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from waybill.milestones import (
    EXCEPTIONS,
    MILESTONE_CODES_CSV,
    MILESTONES,
    UNMAPPED,
    MilestoneCodesError,
    load_milestone_codes,
    lookup,
)

if TYPE_CHECKING:
    from pathlib import Path


def _rows() -> list[dict[str, str]]:
    with MILESTONE_CODES_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_vocabulary_matches_design() -> None:
    assert MILESTONES[0] == "order_released"
    assert MILESTONES[-1] == "pod_received"
    assert len(MILESTONES) == 10
    assert EXCEPTIONS == ("delayed", "damaged", "refused", "returned", "lost")


def test_seed_has_no_duplicate_keys_and_only_canonical_milestones() -> None:
    rows = _rows()
    keys = Counter((row["source_standard"], row["source_code"]) for row in rows)
    assert [key for key, count in keys.items() if count > 1] == []
    allowed = {*MILESTONES, *EXCEPTIONS, UNMAPPED}
    assert {row["milestone"] for row in rows} <= allowed
    assert all(row["description"].strip() for row in rows)
    assert len(load_milestone_codes()) == len(rows)


def test_seed_covers_every_standard() -> None:
    standards = {row["source_standard"] for row in _rows()}
    assert standards == {
        "x12_214",
        "ups",
        "fedex",
        "dcsa",
        "easypost",
        "usps",
        "dhl",
        "shippo",
        "aftership",
    }


def test_seed_covers_at7_codes_in_the_x12_corpus(corpus: Path) -> None:
    codes: set[str] = set()
    for path in (corpus / "x12").glob("*"):
        if path.is_file():
            text = path.read_text(encoding="latin-1")
            codes |= set(re.findall(r"AT7\*([A-Z0-9]{2})\*", text))
    assert codes, "the X12 corpus should contain AT7 segments"
    mapping = load_milestone_codes()
    assert sorted(code for code in codes if ("x12_214", code) not in mapping) == []
    assert mapping[("x12_214", "D1")] == "delivered"
    assert mapping[("x12_214", "AF")] == "picked_up"
    assert mapping[("x12_214", "A9")] == "damaged"


@pytest.mark.parametrize(
    ("file_name", "event_type"),
    [
        ("equipmenteventtypecodes.csv", "EQUIPMENT"),
        ("shipmenteventtypecodes.csv", "SHIPMENT"),
        ("transporteventtypecodes.csv", "TRANSPORT"),
    ],
)
def test_seed_covers_dcsa_reference_codes(corpus: Path, file_name: str, event_type: str) -> None:
    with (corpus / "dcsa" / "reference_codes" / file_name).open(newline="", encoding="utf-8") as fh:
        codes = [row[0] for row in csv.reader(fh)][1:]
    mapping = load_milestone_codes()
    assert codes
    assert [code for code in codes if ("dcsa", f"{event_type}:{code}") not in mapping] == []


def test_lookup_prefers_the_most_specific_code() -> None:
    assert lookup("dcsa", ["EQUIPMENT:PICK:EMPTY", "EQUIPMENT:PICK"]) == (
        "EQUIPMENT:PICK:EMPTY",
        "unmapped",
    )
    assert lookup("dcsa", ["EQUIPMENT:PICK:LADEN", "EQUIPMENT:PICK"]) == (
        "EQUIPMENT:PICK",
        "picked_up",
    )
    assert lookup("ups", ["Q:ZZ", "Q"]) == ("Q:ZZ", "unmapped")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("source_standard,source_code,milestone\nups,D,delivered\n", "header"),
        ("source_standard,source_code,milestone,description\nups,D,arrived,x\n", "not canonical"),
        (
            "source_standard,source_code,milestone,description\nacme,D,delivered,x\n",
            "unknown value",
        ),
        (
            "source_standard,source_code,milestone,description\nups,,delivered,x\n",
            "'source_code' is empty",
        ),
        (
            "source_standard,source_code,milestone,description\nups,D,delivered,x\nups,D,delayed,y\n",
            "line 3: duplicate",
        ),
    ],
)
def test_loader_rejects_bad_csv_naming_line_and_column(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "codes.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MilestoneCodesError, match=re.escape(message)):
        load_milestone_codes(path)
