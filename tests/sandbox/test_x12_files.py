"""Every X12 file passes an independent envelope check; delimiters vary; 210 totals add up."""

from __future__ import annotations

import pytest

from tests.sandbox.helpers import check_envelope, truth_of, x12_segments
from waybill_sandbox.world import World
from waybill_sandbox.x12 import iter_x12_files


@pytest.fixture(scope="module")
def files():
    return list(iter_x12_files(World(21, 600)))


def test_every_file_has_a_valid_envelope(files):
    assert {f.kind for f in files} == {"214", "210"}
    for f in files:
        counts = check_envelope(f.content)
        assert counts["sets"] == f.transaction_sets, f.name
        assert counts["groups"] == 1


def test_one_file_of_each_kind_has_no_newline_and_some_use_other_delimiters(files):
    for kind in ("214", "210"):
        of_kind = [f for f in files if f.kind == kind]
        assert any(b"\n" not in f.content for f in of_kind), kind
        assert any(f.content[3:4] == b"|" for f in of_kind), kind
        assert any(f.content[105:106] == b"\n" for f in of_kind), kind


def test_control_numbers_are_unique_across_files(files):
    numbers = [x12_segments(f.content)[0][0][13] for f in files]
    assert len(set(numbers)) == len(numbers)


def test_210_b3_07_equals_sum_of_l1_04(files):
    checked = 0
    for f in files:
        if f.kind != "210":
            continue
        segments, _ = x12_segments(f.content)
        b3, l1_sum = None, 0
        for seg in segments:
            if seg[0] == "ST":
                b3, l1_sum = None, 0
            elif seg[0] == "B3":
                b3 = seg
            elif seg[0] == "L1":
                l1_sum += int(seg[4])
            elif seg[0] == "SE":
                assert b3 is not None and int(b3[7]) == l1_sum, f"{f.name} ST {seg[2]}"
                checked += 1
    assert checked > 10


def test_214_sets_carry_b10_and_at7(files):
    for f in files:
        if f.kind != "214":
            continue
        tags = [seg[0] for seg in x12_segments(f.content)[0]]
        assert tags.count("ST") == tags.count("B10") == tags.count("AT7") == tags.count("MS1")


def test_transaction_set_counts_match_truth(files):
    truth = truth_of(21, 600)
    sets = {"214": 0, "210": 0}
    for f in files:
        sets[f.kind] += f.transaction_sets
    assert sets["214"] == truth["record_counts"]["carriers.ridgeline.214_transaction_sets"]
    assert sets["210"] == truth["record_counts"]["carriers.ridgeline.210_transaction_sets"]
