"""856 (ASN), 940 (warehouse shipping order) and 945 (warehouse shipping advice) records.

Expected counts and sums are read from the corpus text with plain splitting, not the parser.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from x12_builders import interchange

from waybill.connectors.edi import parse_bytes, parse_file

if TYPE_CHECKING:
    from pathlib import Path


def raw_segments(path: Path) -> list[list[str]]:
    """Segments of a corpus file split by `~` / line breaks and `*` (all these files use them)."""
    text = path.read_text().replace("\r", "")
    pieces = [p.strip() for chunk in text.split("~") for p in chunk.split("\n")]
    return [p.split("*") for p in pieces if p]


def raw_sets(path: Path) -> list[list[list[str]]]:
    sets: list[list[list[str]]] = []
    for seg in raw_segments(path):
        if seg[0] == "ST":
            sets.append([])
        if sets and (seg[0] != "GE" and seg[0] != "IEA"):
            sets[-1].append(seg)
    return sets


def records(path: Path) -> list[dict]:
    result = parse_file(path)
    assert all(ts.record is not None for ts in result.transaction_sets)
    return [ts.record for ts in result.transaction_sets]


@pytest.mark.parametrize(
    "name", ["ediengine_856.Crossdock.OK.edi", "x12types_test-data_004060_856.edi"]
)
def test_856_has_one_line_per_item_level_with_its_shipped_quantity(
    x12_corpus: Path, name: str
) -> None:
    path = x12_corpus / name
    (raw,) = raw_sets(path)
    (record,) = records(path)

    items = [s for s in raw if s[0] == "HL" and s[3] == "I"]
    quantities = [s[2] for s in raw if s[0] == "SN1"]
    (bsn,) = [s for s in raw if s[0] == "BSN"]
    assert record["shipment_id"] == bsn[2]
    assert [line["hl"] for line in record["lines"]] == [s[1] for s in items]
    assert [line["quantity_shipped"] for line in record["lines"]] == quantities
    assert record["hl_count"] == sum(1 for s in raw if s[0] == "HL")
    assert [o["purchase_order"] for o in record["orders"]] == [s[1] for s in raw if s[0] == "PRF"]
    assert all(line["purchase_order"] for line in record["lines"])


def test_856_crossdock_items_carry_their_order_and_pack_marks(x12_corpus: Path) -> None:
    (record,) = records(x12_corpus / "ediengine_856.Crossdock.OK.edi")

    first, *_, last = record["lines"]
    assert first["product_ids"] == [{"qualifier": "UP", "id": "0000000000642"}]
    assert first["purchase_order"] == "POREF00"
    assert first["marks"] == [{"qualifier": "GM", "number": "00000715670002152360"}]
    assert last["purchase_order"] == "POREF01"
    assert last["marks"] == [{"qualifier": "GM", "number": "00000715670002152111"}]
    assert record["carrier"]["scac"] == "OVNT"
    assert (record["weight"], record["weight_unit"]) == ("24", "LB")


def test_856_descriptions_and_hash_total(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "x12types_test-data_004060_856.edi")

    (tset,) = result.transaction_sets
    assert not tset.errors  # CTT01 = 4 HL, CTT02 = 24 + 6
    assert [line["description"] for line in tset.record["lines"]] == ["BLUE WIDGET", "RED WIDGET"]


@pytest.mark.parametrize(
    "name",
    [
        "ediengine_940.OK.edi",
        "ediengine_940.2.OK.edi",
        "ediengine_940.W05.Only.edi",
        "ediengine_940_MultipleInterchangesAndGroups.edi",
        "x12types_940_test_940_test_940_2_L50.edi",
        "x12types_940_test_940_test_940_3_L99.edi",
    ],
)
def test_940_orders_and_lines_match_the_file(x12_corpus: Path, name: str) -> None:
    path = x12_corpus / name
    raw = raw_sets(path)
    got = records(path)

    assert len(got) == len(raw)
    for record, segments in zip(got, raw, strict=True):
        (w05,) = [s for s in segments if s[0] == "W05"]
        w01 = [s for s in segments if s[0] == "W01"]
        assert record["depositor_order_number"] == w05[2]
        assert [line["quantity_ordered"] for line in record["lines"]] == [s[1] for s in w01]
        assert [line["unit"] for line in record["lines"]] == [s[2] for s in w01]
        assert len(record["parties"]) == sum(1 for s in segments if s[0] == "N1")


def test_940_line_details(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "ediengine_940.OK.edi")

    (tset,) = result.transaction_sets
    assert not tset.errors  # W76-01 56 = 12 + 32 + 12
    record = tset.record
    line = record["lines"][1]
    assert line["product_ids"] == [
        {"qualifier": "VN", "id": "000200"},
        {"qualifier": "UC", "id": "DEC0299"},
    ]
    assert line["description"] == "11.500 STRUD CINN"
    assert line["references"] == [{"qualifier": "PC", "value": "DEC0299", "description": None}]
    assert record["references"] == [{"qualifier": "BR", "value": "R1121", "description": None}]
    assert record["carrier"]["payment_method"] == "PP"
    assert record["totals"]["quantity"] == "56"


def test_945_shipped_lines_match_the_file(x12_corpus: Path) -> None:
    path = x12_corpus / "x12types_945__945_test_test_945_parse_1_L384.edi"
    (raw,) = raw_sets(path)
    result = parse_file(path)

    (tset,) = result.transaction_sets
    assert [e.code for e in tset.errors] == ["se_count"]  # the sample's SE01 is off
    record = tset.record
    (w06,) = [s for s in raw if s[0] == "W06"]
    w12 = [s for s in raw if s[0] == "W12"]
    assert (record["depositor_order_number"], record["shipment_id"]) == (w06[2], w06[4])
    assert record["purchase_order"] == w06[6]
    assert [line["quantity_shipped"] for line in record["lines"]] == [s[3] for s in w12]
    assert sum(Decimal(line["quantity_shipped"]) for line in record["lines"]) == Decimal(
        next(s for s in raw if s[0] == "W03")[1]
    )
    line = record["lines"][0]
    assert (line["product_id"], line["lot_number"]) == ("123456789", "LOT12314")
    assert line["references"] == [{"qualifier": "LV", "value": "LPN6569", "description": None}]
    assert record["carrier"]["scac"] == "NPLT"


ORDER_940 = [
    "W05*N*ORD1*PO1",
    "N1*ST*CUSTOMER",
    "LX*1",
    "W01*10*EA**VN*SKU1",
    "LX*2",
    "W01*5*EA**VN*SKU2",
    "W76*15*100*LB",
]
ADVICE_945 = [
    "W06*F*ORD1*20240102*BOL1**PO1",
    "W27*M*ABCD",
    "LX*1",
    "W12*CC*10*10*0*EA**VN*SKU1",
    "LX*2",
    "W12*CP*5*4*1*EA**VN*SKU2",
    "W03*14*100*LB",
]


def _set(body: list[str], kind: str) -> str:
    functional = {"940": "OW", "945": "SW", "856": "SH"}[kind]
    return interchange([body], functional_id=functional).replace("ST*210*", f"ST*{kind}*")


@pytest.mark.parametrize(("body", "kind"), [(ORDER_940, "940"), (ADVICE_945, "945")])
def test_sound_synthetic_940_and_945(body: list[str], kind: str) -> None:
    result = parse_bytes(_set(body, kind).encode(), f"{kind}.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert len(result.transaction_sets[0].record["lines"]) == 2


@pytest.mark.parametrize(
    ("body", "kind", "old", "new", "message"),
    [
        (ORDER_940, "940", "W76*15", "W76*16", "W76-01 declares 16 but the W01-01 quantities"),
        (ADVICE_945, "945", "W03*14", "W03*15", "W03-01 declares 15 but the W12-03 quantities"),
    ],
)
def test_a_total_that_is_not_the_sum_of_its_lines_is_a_record_error(
    body: list[str], kind: str, old: str, new: str, message: str
) -> None:
    text = _set([s.replace(old, new) for s in body], kind)

    (tset,) = parse_bytes(text.encode(), "t.edi").transaction_sets

    (error,) = tset.errors
    assert error.code == "quantity_mismatch" and error.level == "record"
    assert message in str(error)
    assert tset.record is not None


def test_a_quantity_that_is_not_a_number_names_the_element() -> None:
    text = _set([s.replace("W12*CP*5*4", "W12*CP*5*X4") for s in ADVICE_945], "945")

    (tset,) = parse_bytes(text.encode(), "t.edi").transaction_sets

    error = next(e for e in tset.errors if e.code == "bad_number")
    assert error.element == "W12-03"
    assert "(segment W12 at #" in str(error)


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        ("940", ["N1*ST*CUSTOMER"], "missing_w05"),
        ("945", ["N1*ST*CUSTOMER"], "missing_w06"),
        ("856", ["HL*1**S"], "missing_bsn"),
    ],
)
def test_a_set_without_its_beginning_segment_is_a_record_error(
    kind: str, body: list[str], code: str
) -> None:
    (tset,) = parse_bytes(_set(body, kind).encode(), "t.edi").transaction_sets

    assert [e.code for e in tset.errors] == [code]


def test_856_hl_count_mismatch() -> None:
    body = ["BSN*00*SHIP1*20240102*0304", "HL*1**S", "HL*2*1*I", "SN1**3*EA", "CTT*3*3"]

    (tset,) = parse_bytes(_set(body, "856").encode(), "t.edi").transaction_sets

    (error,) = tset.errors
    assert "CTT01 declares 3 but the HL segments add up to 2" in str(error)


@pytest.mark.parametrize(
    ("kind", "body", "old", "new", "element"),
    [
        ("945", ADVICE_945, "*20240102*", "*20240230*", "W06-03"),
        ("940", [*ORDER_940, "G62*10*2024013"], "", "", "G62-02"),
        ("856", ["BSN*00*SHIP1*20241301*0304", "HL*1**S"], "", "", "BSN03"),
    ],
)
def test_a_date_that_is_not_a_calendar_date_names_the_element(
    kind: str, body: list[str], old: str, new: str, element: str
) -> None:
    text = _set([s.replace(old, new) if old else s for s in body], kind)

    (tset,) = parse_bytes(text.encode(), "t.edi").transaction_sets

    (error,) = tset.errors
    assert error.code == "bad_date"
    assert error.element == element
    assert "is not a CCYYMMDD date" in str(error)
