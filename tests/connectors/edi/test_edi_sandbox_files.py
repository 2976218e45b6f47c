"""`waybill edi parse` on every X12 file the sandbox generates, clean and with truncation faults.

Transaction-set counts are computed here independently of the parser: the delimiters are read
from the ISA by position and ``ST`` segments counted with a plain split.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from waybill.commands import edi

if TYPE_CHECKING:
    from pathlib import Path

SHIPMENTS = 120


def _independent_st_count(data: bytes) -> int:
    """Count ST segments: element separator is ISA byte 3, segment terminator the byte after ISA16."""
    element = chr(data[3])
    terminator = chr(data[105])
    text = data.decode("latin-1")
    segments = text.split("\n") if terminator in "\r\n" else text.split(terminator)
    return sum(1 for seg in segments if seg.strip().startswith(f"ST{element}"))


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from waybill_sandbox.files import write_feeds
    from waybill_sandbox.world import World

    out = tmp_path_factory.mktemp("feeds")
    write_feeds(World(21, SHIPMENTS), out)
    return out


@pytest.fixture(scope="module")
def faulty_feeds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.files import write_feeds
    from waybill_sandbox.world import World

    out = tmp_path_factory.mktemp("faulty")
    manifest = write_feeds(World(21, SHIPMENTS), out, FaultConfig.parse("carriers=0.5"))
    return out, manifest


def test_every_generated_file_parses_with_the_right_set_counts(
    feeds: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(feeds.rglob("*.edi"))
    assert {p.parent.name for p in files} == {"210", "214"}
    for path in files:
        status = edi.main([str(path)], segments=False)
        out, err = capsys.readouterr()
        sets = [json.loads(line) for line in out.splitlines()]
        assert status == 0, err
        assert len(sets) == _independent_st_count(path.read_bytes()), path.name
        assert {s["type"] for s in sets} == {path.parent.name}
        assert all(s["record"] is not None and not s["errors"] for s in sets)


def test_some_generated_file_of_each_kind_has_no_newlines(feeds: Path) -> None:
    for kind in ("210", "214"):
        assert any(b"\n" not in p.read_bytes() for p in (feeds / "ridgeline" / kind).glob("*.edi"))


def test_truncated_files_are_reported_naming_file_and_missing_segment(
    faulty_feeds: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir, manifest = faulty_feeds
    truncated = [f["name"] for f in manifest["files"] if f.get("truncated")]
    assert truncated, "the fault rate should truncate at least one file"
    for name in truncated:
        path = out_dir / name
        status = edi.main([str(path)], segments=False)
        _out, err = capsys.readouterr()
        assert status == 1
        assert str(path) in err
        assert any(missing in err for missing in ("SE", "GE", "IEA")), err
    sound = [
        f["name"]
        for f in manifest["files"]
        if f["kind"].startswith("x12") and not f.get("truncated")
    ]
    for name in sound:
        assert edi.main([str(out_dir / name)], segments=False) == 0
        capsys.readouterr()
