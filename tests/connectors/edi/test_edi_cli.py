"""`waybill edi parse`: JSON lines on stdout, errors on stderr, exit status 0/1/2."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from x12_builders import STATUS_214, interchange

from waybill.commands import edi

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def test_sound_file_prints_one_json_line_per_set_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok.edi"
    path.write_text(interchange([STATUS_214, STATUS_214], newline="\n"))

    status = edi.main([str(path)])

    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert err == ""
    assert [line["st_control"] for line in lines] == ["0001", "0002"]
    first = lines[0]
    assert set(first) == {
        "file", "isa_control", "gs_control", "st_control", "type", "segments", "record", "errors",
    }  # fmt: skip
    assert first["segments"][0][0] == "ISA"
    assert [s[0] for s in first["segments"][2:4]] == ["ST", "B10"]
    assert first["record"]["events"][0]["status_code"] == "D1"


def test_envelope_error_exits_1_and_still_prints_good_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.edi"
    path.write_text(interchange([STATUS_214, STATUS_214]).replace("SE*8*0002", "SE*5*0002"))

    status = edi.main([str(path)], segments=False)

    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert len(lines) == 2 and "segments" not in lines[0]
    assert lines[1]["errors"][0]["code"] == "se_count"
    assert err.splitlines() == [
        f"{path}: interchange 000000905, group 905, ST 0002:"
        " SE01 declares 5 segments, found 8 (segment SE at #18)"
    ]


def test_corpus_204_exits_1(x12_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = edi.main([str(x12_corpus / "edinet_204-MGCTLYST-SAMPLE.EDI")])

    out, err = capsys.readouterr()
    assert status == 1
    assert json.loads(out)["type"] == "204"
    assert "SE01 declares 41 segments, found 38 (segment SE at #40)" in err


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "ok.edi"
    good.write_text(interchange([STATUS_214]))

    status = edi.main([str(tmp_path / "missing.edi"), str(good)])

    out, err = capsys.readouterr()
    assert status == 2
    assert len(out.splitlines()) == 1
    assert "missing.edi: cannot read" in err


def test_register_adds_edi_parse_with_no_segments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok.edi"
    path.write_text(interchange([STATUS_214]))
    parser = argparse.ArgumentParser(prog="waybill")
    edi.register(parser.add_subparsers(dest="command"))

    args = parser.parse_args(["edi", "parse", "--no-segments", str(path)])
    status = args.func(args)

    out, _ = capsys.readouterr()
    assert status == 0
    assert "segments" not in json.loads(out)
