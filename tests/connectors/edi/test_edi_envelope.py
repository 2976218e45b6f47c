"""Envelope checks, delimiters and hostile input on small synthetic interchanges."""

from __future__ import annotations

import random

import pytest
from x12_builders import INVOICE_210, STATUS_214, interchange, isa

from waybill.connectors.edi import parse_bytes


def codes(result) -> list[str]:
    return [e.code for e in result.all_errors()]


@pytest.mark.parametrize(
    ("term", "newline"),
    [("~", ""), ("~", "\r\n"), ("~", "\n"), ("\n", ""), ("\r", "\n")],
    ids=[
        "no-newlines",
        "crlf-after-terminator",
        "lf-after-terminator",
        "lf-is-terminator",
        "crlf-is-terminator",
    ],
)
def test_terminator_styles_all_parse(term: str, newline: str) -> None:
    text = interchange([STATUS_214, STATUS_214], term=term, newline=newline)

    result = parse_bytes(text.encode(), "styles.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert [ts.st_control for ts in result.transaction_sets] == ["0001", "0002"]
    assert result.transaction_sets[1].record["events"][0]["status_code"] == "D1"


def test_several_interchanges_with_different_delimiters() -> None:
    first = interchange([STATUS_214], control="000000001", group="1")
    second = (
        interchange([INVOICE_210], control="000000002", group="2", functional_id="IM")
        .replace("*", "|")
        .replace("~", "'")
    )

    result = parse_bytes((first + "\n" + second).encode(), "two.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert [ts.type for ts in result.transaction_sets] == ["214", "210"]
    assert result.interchanges[1].delimiters.element == "|"
    assert result.transaction_sets[1].record["net_amount"] == "125.50"


def test_zero_padded_counts_and_loose_isa_are_tolerated() -> None:
    text = interchange([STATUS_214]).replace("SE*8*0001", "SE*000008*0001")
    text = text.replace("GE*1*905", "GE*000001*905").replace("SENDER         ", "SENDER")

    result = parse_bytes(text.encode(), "padded.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert any("ISA06" in w for w in result.warnings)


def test_a_bad_set_does_not_stop_the_sound_ones() -> None:
    text = interchange([STATUS_214, STATUS_214, STATUS_214]).replace("SE*8*0002", "SE*9*0099")

    result = parse_bytes(text.encode(), "mixed.edi")

    sound, bad, also_sound = result.transaction_sets
    assert not sound.errors and not also_sound.errors
    assert sorted(e.code for e in bad.errors) == ["se_control", "se_count"]
    assert bad.record is not None  # count errors do not hide the record
    assert str(bad.errors[0]).startswith("mixed.edi: interchange 000000905, group 905, ST 0002: ")


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("GE*1*905", "GE*2*905", "ge_count"),
        ("GE*1*905", "GE*1*906", "ge_control"),
        ("IEA*1*000000905", "IEA*2*000000905", "iea_count"),
        ("IEA*1*000000905", "IEA*1*000000906", "iea_control"),
    ],
)
def test_group_and_interchange_trailer_checks(old: str, new: str, code: str) -> None:
    result = parse_bytes(interchange([STATUS_214]).replace(old, new).encode(), "t.edi")

    assert codes(result) == [code]
    assert result.transaction_sets[0].record is not None


@pytest.mark.parametrize(
    ("cut_before", "missing"),
    [
        ("SE*", ["se_missing", "ge_missing", "iea_missing"]),
        ("GE*", ["ge_missing", "iea_missing"]),
        ("IEA*", ["iea_missing"]),
    ],
)
def test_truncated_file_names_the_missing_segment(cut_before: str, missing: list[str]) -> None:
    text = interchange([STATUS_214])
    truncated = text[: text.index(cut_before)]

    result = parse_bytes(truncated.encode(), "cut.edi")

    assert sorted(codes(result)) == sorted(missing)
    first = next(result.all_errors())
    trailer = missing[0].split("_")[0].upper()
    assert f"{trailer} missing: the file ends" in str(first)
    assert str(first).startswith("cut.edi: interchange 000000905")
    if cut_before == "SE*":
        (tset,) = result.transaction_sets
        assert tset.record is None and not tset.closed


def test_new_st_before_se_closes_the_open_set() -> None:
    text = interchange([STATUS_214, STATUS_214]).replace("SE*8*0001~", "", 1)

    result = parse_bytes(text.encode(), "nose.edi")

    first, second = result.transaction_sets
    assert [e.code for e in first.errors] == ["se_missing"]
    assert "ST at #" in str(first.errors[0])
    assert not second.errors
    assert codes(result) == ["se_missing"]


def test_segments_outside_a_set_are_reported_once_and_skipped() -> None:
    text = interchange([STATUS_214, STATUS_214])
    text = text.replace("SE*8*0001~", "SE*8*0001~N9*XX*1~N9*XX*2~")

    result = parse_bytes(text.encode(), "orphan.edi")

    assert codes(result) == ["orphan_segment"]
    assert "(segment N9 at #11)" in str(result.errors[0])
    assert [ts.st_control for ts in result.transaction_sets] == ["0001", "0002"]
    assert not any(ts.errors for ts in result.transaction_sets)


def test_210_total_mismatch_is_a_record_error() -> None:
    bad = [s.replace("12550", "12551") for s in INVOICE_210]

    result = parse_bytes(interchange([bad], functional_id="IM").encode(), "inv.edi")

    (tset,) = result.transaction_sets
    (error,) = tset.errors
    assert error.code == "amount_mismatch" and error.level == "record"
    assert "B3-07 net amount 125.51 does not equal the sum of L1-04 charges 125.50" in str(error)
    assert tset.record["net_amount"] == "125.51"
    assert not result.errors  # the envelope is sound


def test_210_bad_number_names_the_element() -> None:
    bad = [s.replace("2500", "25X0") for s in INVOICE_210]

    result = parse_bytes(interchange([bad], functional_id="IM").encode(), "inv.edi")

    error = next(e for e in result.transaction_sets[0].errors if e.code == "bad_number")
    assert error.element == "L1-04"
    assert "(segment L1 at #9)" in str(error)


@pytest.mark.parametrize(
    ("junk", "code"),
    [(b"\xff\xfe", "bad_bytes"), (b"\x00", "control_character")],
)
def test_hostile_bytes_give_errors_not_crashes(junk: bytes, code: str) -> None:
    data = interchange([STATUS_214]).encode().replace(b"CONSIGNEE", b"CONS" + junk + b"IGNEE")

    result = parse_bytes(data, "hostile.edi")

    (tset,) = result.transaction_sets
    assert [e.code for e in tset.errors] == [code]
    assert tset.errors[0].element == "N1-02"
    assert "\ufffd" in tset.record["parties"][0]["name"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b'{"not": "x12"}', "does not start with an ISA segment"),
        (b"ISA", "ISA is truncated"),
        (isa().encode(), "ISA is truncated"),
        (isa(sep="A").encode() + b"~", "element separator 'A'"),
        (isa(component="*").encode() + b"~", "equals the element separator"),
        (isa().encode() + b"*X~GS*", "more than 16 elements"),
    ],
)
def test_unrecoverable_input_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    result = parse_bytes(data, "bad.edi")

    assert result.rejected
    assert not result.transaction_sets
    assert reason in str(result.errors[0])
    assert str(result.errors[0]).startswith("bad.edi: ")


def test_random_garbage_never_raises() -> None:
    rng = random.Random(20240102)
    base = interchange([STATUS_214, INVOICE_210]).encode()
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.randrange(len(data) + 1)
        result = parse_bytes(bytes(data[:cut]), "fuzz.edi")
        for error in result.all_errors():
            assert str(error).startswith("fuzz.edi")
        for tset in result.transaction_sets:
            tset.to_json_dict()


def test_repetition_separator_from_isa11_from_version_00402() -> None:
    text = interchange([STATUS_214]).replace("*U*00401*", "*^*00501*")

    result = parse_bytes(text.encode(), "rep.edi")

    assert result.ok
    assert result.interchanges[0].delimiters.repetition == "^"
    assert result.interchanges[0].delimiters.component == ":"
