"""The parser against real partner files in ../shared/corpus/x12 (skipped when absent)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from x12_builders import corpus_names

from waybill.connectors.edi import parse_file
from waybill.connectors.edi.tokenizer import SegmentReader

if TYPE_CHECKING:
    from pathlib import Path


def count_st(data: bytes) -> int:
    """Count ST segments independently of the parser: ST + the element separator (ISA char 4)
    right after a `~`, a line break or the start of the file."""
    text = data.decode("latin-1")
    sep = re.escape(text[3])
    return len(re.findall(rf"(?:^|[~\r\n])[ \t]*ST{sep}", text))


@pytest.mark.parametrize("name", corpus_names())
def test_every_corpus_file_parses_with_its_transaction_sets(x12_corpus: Path, name: str) -> None:
    path = x12_corpus / name
    result = parse_file(path)

    assert result.read_error is None
    assert len(result.transaction_sets) == count_st(path.read_bytes())
    assert all(ts.type and ts.st_control and ts.closed for ts in result.transaction_sets)
    assert not [e for e in result.errors if e.code.startswith(("isa_", "not_x12"))]


@pytest.mark.parametrize(
    "name",
    [
        "edinet_210-MGCTLYST-SAMPLE.EDI",
        "edinet_214-MGCTLYST-SAMPLE.EDI",
        "edinet_990-MGCTLYST-SAMPLE.EDI",
        "omniparser_canadapost_edi_214_19sets.txt",
        "ediengine_856.Crossdock.OK.edi",
        "ediengine_940_MultipleInterchangesAndGroups.edi",
        "x12types_204_test_204_test_2_L256.edi",
    ],
)
def test_sound_corpus_files_have_no_errors(x12_corpus: Path, name: str) -> None:
    result = parse_file(x12_corpus / name)

    assert result.ok, [str(e) for e in result.all_errors()]


def test_edinet_204_wrong_se01_is_reported_and_the_set_still_returned(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "edinet_204-MGCTLYST-SAMPLE.EDI")

    assert not result.ok
    (tset,) = result.transaction_sets
    assert tset.type == "204"
    assert tset.st_control == "178780001"
    assert len(tset.body) == 38
    (error,) = tset.errors
    assert error.code == "se_count"
    assert error.segment_tag == "SE"
    assert error.segment_position == 40
    assert str(error).endswith(
        "edinet_204-MGCTLYST-SAMPLE.EDI: interchange 000018718, group 17878, ST 178780001:"
        " SE01 declares 41 segments, found 38 (segment SE at #40)"
    )


def test_edinet_210_record_amounts(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "edinet_210-MGCTLYST-SAMPLE.EDI")
    record = result.transaction_sets[0].record

    assert record is not None
    assert record["invoice_number"] == "09851270"
    assert record["shipment_id"] == "75027674"
    assert record["payment_method"] == "TP"
    assert record["net_amount"] == "659.40"
    assert record["charge_total"] == "659.40"
    assert record["totals"]["charge"] == "659.40"
    charges = [c for line in record["lines"] for c in line["charges"]]
    assert [c["charge"] for c in charges] == ["3636.04", "15.00", "26.27", "-3017.91"]
    assert charges[-1]["special_charge_code"] == "DSC"
    assert record["lines"][3]["description"] == "DISCOUNT"
    assert record["lines"][0]["weight"] == "7889"
    assert record["interchange_control"] == "000001838"
    assert record["sender_id"] == "SCAC"
    assert record["receiver_id"] == "MGCTLYST"


def test_edinet_214_delivered_event(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "edinet_214-MGCTLYST-SAMPLE.EDI")
    record = result.transaction_sets[0].record

    assert record is not None
    assert (record["carrier_pro"], record["shipper_reference"], record["scac"]) == (
        "1751807",
        "75027674",
        "SCAC",
    )
    (event,) = record["events"]
    assert event["status_code"] == "D1"
    assert event["status_reason"] == "NS"
    assert (event["event_date"], event["event_time"], event["time_code"]) == (
        "20160726",
        "1230",
        "LT",
    )
    assert (event["city"], event["state"]) == ("BRATTLEBORO", "VT")
    assert event["equipment"] == {"scac": "SCAC", "number": "30402", "type": None}
    assert [p["entity"] for p in record["parties"]] == ["SH", "CN", "BT"]
    assert record["parties"][1]["postal_code"] == "05301"


def test_canadapost_214_padding_and_codes(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "omniparser_canadapost_edi_214_19sets.txt")

    assert result.ok
    records = [ts.record for ts in result.transaction_sets]
    assert len(records) == 19
    assert records[0]["carrier_pro"] == "4343638097845589"  # B10 is space-padded
    codes = {r["events"][0]["status_code"] for r in records}
    assert codes == {"XB", "AF", "AP", "AH", "CA", "D1"}
    time_codes = {r["events"][0]["time_code"] for r in records}
    assert {"PT", "MT", "CS", "ET", None} <= time_codes
    delivered = records[3]["events"][0]
    assert delivered["status_code"] == "D1"
    assert delivered["references"] == [{"qualifier": "CI", "value": None, "description": None}]
    # The same shipment appears in several sets with different events; count independently.
    text = (x12_corpus / "omniparser_canadapost_edi_214_19sets.txt").read_text()
    expected = {line.split("*")[1].strip() for line in text.splitlines() if line.startswith("B10*")}
    assert {r["carrier_pro"] for r in records} == expected


@pytest.mark.parametrize("name", corpus_names("edge_cases"))
def test_edge_cases_parse_or_are_rejected_with_a_reason(x12_corpus: Path, name: str) -> None:
    result = parse_file(x12_corpus / "edge_cases" / name)

    if result.transaction_sets:
        assert all(ts.type for ts in result.transaction_sets)
    else:
        assert result.errors
    for error in result.all_errors():
        text = str(error)
        assert text.startswith(str(x12_corpus / "edge_cases" / name))
        assert re.search(r"\(segment (\w+ )?at #\d+\)$", text), text


def test_truncated_isa_edge_case_is_rejected_naming_the_isa(x12_corpus: Path) -> None:
    result = parse_file(
        x12_corpus / "edge_cases" / "x12types_xxx_test_940_test_940_truncated_isa_L365.edi"
    )

    assert result.rejected
    (error,) = result.errors
    assert error.code == "isa_unreadable"
    assert "ISA is truncated" in str(error)
    assert str(error).endswith("(segment ISA at #1)")


def test_wrong_group_and_set_counts_edge_case(x12_corpus: Path) -> None:
    result = parse_file(x12_corpus / "edge_cases" / "ediengine_940_WrongGroupsAndTranCount.edi")

    assert len(result.transaction_sets) == 1
    assert {e.code for e in result.errors} == {"ge_count", "iea_count"}


def test_streamed_in_tiny_chunks_equals_whole(x12_corpus: Path) -> None:
    from waybill.connectors.edi import parse_text_chunks

    text = (x12_corpus / "edinet_210-MGCTLYST-SAMPLE.EDI").read_text()
    whole = list(SegmentReader([text]))
    chunked = list(SegmentReader(text[i : i + 7] for i in range(0, len(text), 7)))
    assert chunked == whole
    result = parse_text_chunks((text[i : i + 5] for i in range(0, len(text), 5)), "chunks")
    assert result.ok
    assert result.transaction_sets[0].record["net_amount"] == "659.40"
