"""File sources end to end through ``ingest_entity``: X12 and CSV drops from an inbound folder.

Each test writes its own ``sources.yaml`` (a unique source name) so it owns its raw tables.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pytest

from waybill import warehouse
from waybill.ingest import ingest_entity
from waybill.sources import load_sources

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def file_source(tmp_path, monkeypatch):
    """A registry with one X12 and one CSV source under a unique name; cleaned up afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    inbound = tmp_path / "inbound"
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        f"""
sources:
  {name}:
    kind: x12_files
    inbound_dir: {inbound}
    outbound_dir: {tmp_path / "outbound"}
    entities:
      shipment_status:
        transaction_set: "214"
        inbound_subdir: "214"
        pattern: "*.edi"
        natural_key: carrier_pro
      lines:
        kind: csv_files
        pattern: "*.csv"
        inbound_subdir: csv
        natural_key: [order_id, line]
        required_columns: [order_id, line, qty]
        integer_columns: [line, qty]
"""
    )
    monkeypatch.setenv("WAYBILL_SOURCES", str(registry))
    load_sources.cache_clear()
    yield name, inbound, tmp_path / "outbound"
    load_sources.cache_clear()
    with warehouse.connect() as conn, conn.transaction():
        for entity in ("shipment_status", "lines"):
            conn.execute(f'drop table if exists raw."{name}__{entity}"')
        for table in ("dead_letters", "load_batches", "watermarks", "ingested_files"):
            conn.execute(f"delete from ops.{table} where source = %s", (name,))


def _x12_file() -> bytes:
    from waybill_sandbox.world import World
    from waybill_sandbox.x12 import iter_x12_files

    files = [f for f in iter_x12_files(World(11, 60)) if f.kind.endswith("214")]
    return max(files, key=lambda f: f.content.count(b"ST"))


def _dead(source: str) -> list[tuple[str, str, str | None]]:
    with warehouse.connect() as conn:
        return conn.execute(
            "select record_location, reason, field from ops.dead_letters where source = %s",
            (source,),
        ).fetchall()


def _count(table: str) -> int:
    with warehouse.connect() as conn:
        return conn.execute(f'select count(*) from raw."{table}"').fetchone()[0]


def _write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_a_bad_se01_dead_letters_that_set_and_the_sound_sets_land(file_source):
    name, inbound, outbound = file_source
    generated = _x12_file()
    text = generated.content.decode()
    element = text[3]
    sets = len(re.findall(rf"ST{re.escape(element)}214{re.escape(element)}", text))
    # Break the second set's declared count: SE01 of the 2nd trailer, whatever the delimiters.
    trailers = [m.start() for m in re.finditer(rf"SE{re.escape(element)}\d+", text)]
    second = trailers[1]
    end = text.index(element, second + 3)
    broken = text[: second + 3] + "99" + text[end:]
    _write(inbound / "214", "BAD_SE01.edi", broken.encode())

    result = ingest_entity(name, "shipment_status")

    assert sets >= 3
    assert result["landed"] == sets - 1
    assert result["dead_lettered"] == 1
    [(location, reason, field)] = _dead(name)
    assert "BAD_SE01.edi" in location and "BAD_SE01.edi" in reason
    assert "SE01 declares 99" in reason and "segment SE" in reason and field == "SE01"
    assert _count(f"{name}__shipment_status") == sets - 1
    assert (inbound / "214" / "rejected" / "BAD_SE01.edi").exists()
    assert list(outbound.glob("997_*.edi"))
    envelope = _payload_envelope(name)
    assert envelope["file"] == "BAD_SE01.edi" and envelope["sender_id"] == "RDGL"


def test_a_truncated_file_names_the_file_and_the_missing_segment(file_source):
    name, inbound, _ = file_source
    data = _x12_file().content
    _write(inbound / "214", "CUT.edi", data[: len(data) * 7 // 10])

    result = ingest_entity(name, "shipment_status")

    dead = _dead(name)
    assert result["dead_lettered"] == len(dead) >= 1
    assert all("CUT.edi" in reason for _, reason, _ in dead)
    assert any("SE missing" in reason for _, reason, _ in dead)
    assert any("IEA missing" in reason for _, reason, _ in dead)
    assert (inbound / "214" / "rejected" / "CUT.edi").exists()
    assert not (inbound / "214" / "CUT.edi").exists()


def test_rerunning_a_file_source_adds_nothing_and_never_deletes(file_source):
    name, inbound, _ = file_source
    content = _x12_file().content
    _write(inbound / "214", "A.edi", content)
    first = ingest_entity(name, "shipment_status")
    # The same file dropped again (a partner resend): it lands nothing new and is kept.
    _write(inbound / "214", "A.edi", content)

    second = ingest_entity(name, "shipment_status")

    assert first["landed"] > 0 and first["dead_lettered"] == 0
    assert (second["read"], second["landed"]) == (0, 0)
    assert second["files"] == {"A.edi": "archived"}
    archived = sorted(p.name for p in (inbound / "214" / "archive").iterdir())
    assert archived == ["A.edi", "A.edi.1"]


def test_csv_rows_land_and_bad_rows_are_dead_lettered_by_line_and_column(file_source):
    name, inbound, _ = file_source
    rows = [
        "order_id,line,qty,note",
        "O1,1,5,plain",
        'O1,2,3,"quoted, with comma and ""quotes"""',
        "O2,1,N/A,bad quantity",
        "O3,1,4",
        "O4,,2,missing line",
        "O5,1,7,caf\xe9",
    ]
    data = "\r\n".join(rows[:-1]).encode() + b"\r\nO5,1,7,caf\xe9\r\n"
    _write(inbound / "csv", "drop_1.csv", data)

    result = ingest_entity(name, "lines")

    assert (result["read"], result["landed"], result["dead_lettered"]) == (6, 2, 4)
    reasons = {location: (reason, field) for location, reason, field in _dead(name)}
    assert reasons["drop_1.csv line 4"] == ("column 'qty' is not an integer: 'N/A'", "qty")
    assert reasons["drop_1.csv line 5"][1] == "note"
    assert reasons["drop_1.csv line 6"][1] == "line"
    assert "UTF-8" in reasons["drop_1.csv line 7"][0]
    with warehouse.connect() as conn:
        payload = conn.execute(
            f'select payload from raw."{name}__lines" where natural_key = %s', ("O1|2",)
        ).fetchone()[0]
    assert payload == {
        "order_id": "O1",
        "line": "2",
        "qty": "3",
        "note": 'quoted, with comma and "quotes"',
        "_file": "drop_1.csv",
        "_line": 3,
    }
    assert (inbound / "csv" / "rejected" / "drop_1.csv").exists()


def _payload_envelope(source: str) -> dict:
    with warehouse.connect() as conn:
        return conn.execute(
            f"select payload -> 'envelope' from raw.\"{source}__shipment_status\" limit 1"
        ).fetchone()[0]


def test_an_empty_drop_still_creates_the_raw_table(file_source):
    """Staging reads raw.<source>__<entity> from the first run, before any file arrived."""
    name, _inbound, _ = file_source

    result = ingest_entity(name, "shipment_status")

    assert (result["read"], result["files"]) == (0, {})
    assert _count(f"{name}__shipment_status") == 0
