"""Element length caps: an element over its cap rejects its set, named by file, segment, element."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from x12_builders import STATUS_214, corpus_names, interchange

from waybill.connectors.edi import build_997, parse_bytes, parse_file

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)


def with_b10(pro: str) -> list[str]:
    return [f"B10*{pro}*SHIPREF9*ABCD", *STATUS_214[1:]]


def test_b10_01_over_its_cap_rejects_that_set_and_names_file_segment_and_element() -> None:
    text = interchange([STATUS_214, with_b10("9" * 9300), STATUS_214])

    result = parse_bytes(text.encode(), "long.edi")

    first, bad, third = result.transaction_sets
    assert not first.errors and not third.errors
    assert third.record["carrier_pro"] == "PRO123"
    (error,) = bad.errors
    assert error.code == "element_too_long"
    assert error.element == "B10-01"
    # Position 12: ISA, GS, the 8 segments of set 1, ST, then B10.
    assert str(error) == (
        "long.edi: interchange 000000905, group 905, ST 0002: B10-01 is 9300 characters long,"
        " over its cap of 30 (starts '99999999999999999999') (segment B10 at #12)"
    )
    assert not bad.accepted and bad.record is None
    assert len(bad.body[1][1]) == 31  # cut: the 9.3k value is not carried further


def test_the_997_rejects_the_set_with_the_element_too_long() -> None:
    text = interchange([STATUS_214, with_b10("9" * 9300)])

    ack = parse_bytes(build_997(parse_bytes(text.encode(), "in.edi"), now=NOW).encode(), "ack")

    body = ack.transaction_sets[0].body
    assert ["AK3", "B10", "2", "", "8"] in body
    assert ["AK4", "1", "", "5"] in body
    assert [s for s in body if s[0] == "AK5"] == [["AK5", "A"], ["AK5", "R", "5"]]
    assert ["AK9", "P", "2", "2", "1"] in body


def test_at_its_cap_and_padded_with_spaces_is_accepted() -> None:
    text = interchange([with_b10("P" * 30), with_b10("PRO1" + " " * 60)])

    result = parse_bytes(text.encode(), "ok.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert result.transaction_sets[0].record["carrier_pro"] == "P" * 30


def test_one_over_its_cap_is_rejected() -> None:
    result = parse_bytes(interchange([with_b10("P" * 31)]).encode(), "over.edi")

    assert [e.code for e in result.transaction_sets[0].errors] == ["element_too_long"]


def test_a_segment_without_caps_of_its_own_has_the_default_cap() -> None:
    fine = [*STATUS_214, "K1*" + "x" * 1000]
    over = [*STATUS_214, "K1*" + "x" * 1001]
    binary = [*STATUS_214, "BIN*5000*" + "b" * 5000]

    result = parse_bytes(interchange([fine, over, binary]).encode(), "k1.edi")

    assert [[e.element for e in ts.errors] for ts in result.transaction_sets] == [[], ["K1-01"], []]


def test_an_envelope_element_over_its_cap_is_a_file_error_not_a_crash() -> None:
    text = interchange([STATUS_214]).replace("*905*X*004010", "*" + "9" * 50 + "*X*004010")

    result = parse_bytes(text.encode(), "gs.edi")

    codes = [e.code for e in result.errors]
    assert "element_too_long" in codes
    error = next(e for e in result.errors if e.code == "element_too_long")
    assert error.element == "GS06"
    assert str(error).endswith("(segment GS at #2)")


@pytest.mark.parametrize("name", corpus_names())
def test_no_corpus_file_has_an_element_over_its_cap(x12_corpus: Path, name: str) -> None:
    result = parse_file(x12_corpus / name)

    assert not [str(e) for e in result.all_errors() if e.code == "element_too_long"]


def test_an_st02_over_its_cap_rejects_its_set_and_is_cut_before_it_names_anything() -> None:
    text = interchange([STATUS_214, STATUS_214]).replace("ST*214*0002", "ST*214*" + "7" * 5000)
    text = text.replace("SE*8*0002", "SE*8*" + "7" * 5000)

    result = parse_bytes(text.encode(), "st.edi")

    sound, bad = result.transaction_sets
    assert not sound.errors
    assert bad.st_control == "7" * 10
    assert [(e.code, e.element) for e in bad.errors] == [
        ("element_too_long", "ST02"),
        ("element_too_long", "SE02"),
    ]
    assert not bad.accepted
    assert all(len(str(e)) < 400 for e in result.all_errors())
