"""``waybill carriers normalize``: JSON lines out, errors naming file/path/field, exit codes."""

from __future__ import annotations

import argparse
import io
import json
from typing import TYPE_CHECKING

import pytest

from waybill.commands.carriers import main, register

if TYPE_CHECKING:
    from pathlib import Path


def _write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def _activity(date: object) -> dict[str, object]:
    return {"date": date, "time": "101500", "status": {"type": "I", "description": "Departed"}}


def _ups(*activities: object) -> str:
    package = {"trackingNumber": "1Z9", "activity": list(activities)}
    return json.dumps({"trackResponse": {"shipment": [{"package": [package]}]}})


def _main(fmt: str, files: list[str]) -> tuple[int, list[dict[str, object]], str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(fmt, files, stdout=out, stderr=err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return status, lines, err.getvalue()


def test_clean_file_exits_zero_with_one_line_per_event(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.json", _ups(_activity("20240105"), _activity("20240106")))
    status, lines, err = _main("ups", [path])
    assert (status, err) == (0, "")
    assert [line["file"] for line in lines] == [path, path]
    assert lines[0]["milestone"] == "in_transit"
    assert list(lines[0])[:4] == ["file", "event_id", "carrier", "tracking_number"]
    assert lines[0]["source_channel"] == "api"


def test_record_error_exits_one_and_keeps_the_rest(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.json", _ups(_activity(None), _activity("20240106")))
    status, lines, err = _main("ups", [path])
    assert status == 1
    assert len(lines) == 1
    assert (
        f"{path}: $.trackResponse.shipment[0].package[0].activity[0]: field 'date': is missing"
        in err
    )


@pytest.mark.parametrize(
    "content", ['{"trackResponse": ', "[NaN]", "\udcff"], ids=["truncated", "nan", "not-utf8"]
)
def test_invalid_json_exits_two_and_other_files_still_run(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "broken.json"
    if content == "\udcff":
        bad.write_bytes(b"\xff\xfe{}")
    else:
        bad.write_text(content, encoding="utf-8")
    good = _write(tmp_path, "ok.json", _ups(_activity("20240105")))
    status, lines, err = _main("ups", [str(bad), good])
    assert status == 2
    assert len(lines) == 1
    assert f"{bad}: not a valid JSON document" in err


def test_missing_file_exits_two(tmp_path: Path) -> None:
    status, lines, err = _main("ups", [str(tmp_path / "absent.json")])
    assert (status, lines) == (2, [])
    assert "cannot read file" in err


def test_corpus_dcsa_via_cli(corpus: Path) -> None:
    files = sorted(str(p) for p in (corpus / "dcsa" / "examples_extracted").glob("*.json"))
    status, lines, err = _main("dcsa", files)
    assert (status, err) == (0, "")
    assert sum(1 for line in lines if line["is_retraction"]) == 2


def test_register_adds_the_subcommand(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["carriers", "normalize", "--format", "fedex", "a.json", "b.json"])
    assert (args.fmt, args.files, args.carrier_code, args.source_channel) == (
        "fedex",
        ["a.json", "b.json"],
        None,
        "api",
    )
    assert callable(args.func)
    with pytest.raises(SystemExit):
        parser.parse_args(["carriers", "normalize", "--format", "ontrac", "a.json"])


def test_unknown_format_raises() -> None:
    with pytest.raises(ValueError, match="unknown carrier format"):
        main("ontrac", [])


@pytest.mark.parametrize(
    "fmt", ["ups", "fedex", "dcsa", "easypost", "usps", "dhl", "shippo", "aftership"]
)
@pytest.mark.parametrize("content", ["{}", '[1, "junk", null]'], ids=["empty-object", "junk-array"])
def test_document_not_of_the_format_exits_two_naming_the_file(
    tmp_path: Path, fmt: str, content: str
) -> None:
    bad = _write(tmp_path, "other.json", content)
    status, lines, err = _main(fmt, [bad])
    assert (status, lines) == (2, [])
    assert err.startswith(f"{bad}: not ")


def test_other_files_still_run_after_a_document_of_another_kind(tmp_path: Path) -> None:
    fedex = _write(tmp_path, "fedex.json", json.dumps({"output": {"completeTrackResults": []}}))
    good = _write(tmp_path, "ok.json", _ups(_activity("20240105")))
    status, lines, err = _main("ups", [fedex, good])
    assert status == 2
    assert [line["file"] for line in lines] == [good]
    assert f"{fedex}: not a UPS Track API response" in err


def test_source_channel_is_stamped_on_every_event(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.json", _ups(_activity("20240105"), _activity("20240106")))
    out, err = io.StringIO(), io.StringIO()
    status = main("ups", [path], source_channel="webhook", stdout=out, stderr=err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (status, [line["source_channel"] for line in lines]) == (0, ["webhook", "webhook"])


def test_carrier_error_exits_one_with_the_carriers_code(tmp_path: Path) -> None:
    doc = {"response": {"errors": [{"code": "151018", "message": "Invalid tracking number"}]}}
    path = _write(tmp_path, "err.json", json.dumps(doc))
    status, lines, err = _main("ups", [path])
    assert (status, lines) == (1, [])
    assert err == f"{path}: $.response.errors[0]: UPS error 151018: Invalid tracking number\n"
