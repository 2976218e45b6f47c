"""X12 ingestion through ``ingest_entity``: streamed sets, caps before the 997, files go on."""

from __future__ import annotations

import uuid

import pytest
from x12_builders import STATUS_214, interchange

from waybill import warehouse
from waybill.connectors.edi import parse_file
from waybill.ingest import ingest_entity
from waybill.sources import load_sources


@pytest.fixture
def x12_source(tmp_path, monkeypatch):
    """A registry with one X12 214 source under a unique name; its rows removed afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        f"""
sources:
  {name}:
    kind: x12_files
    inbound_dir: {tmp_path / "inbound"}
    outbound_dir: {tmp_path / "outbound"}
    entities:
      shipment_status:
        transaction_set: "214"
        pattern: "*.edi"
        natural_key: carrier_pro
"""
    )
    monkeypatch.setenv("WAYBILL_SOURCES", str(registry))
    load_sources.cache_clear()
    yield name, tmp_path / "inbound", tmp_path / "outbound"
    load_sources.cache_clear()
    with warehouse.connect() as conn, conn.transaction():
        conn.execute(f'drop table if exists raw."{name}__shipment_status"')
        for table in ("dead_letters", "load_batches", "watermarks", "ingested_files"):
            conn.execute(f"delete from ops.{table} where source = %s", (name,))


def status(pro: str) -> list[str]:
    return [f"B10*{pro}*SHIPREF9*ABCD", *STATUS_214[1:]]


def test_an_element_over_its_cap_is_a_dead_letter_rejected_in_the_997_and_the_next_file_lands(
    x12_source,
) -> None:
    name, inbound, outbound = x12_source
    inbound.mkdir(parents=True)
    (inbound / "A.edi").write_text(
        interchange([status("PRO1"), status("9" * 9300), status("PRO3")], control="000000001")
    )
    (inbound / "B.edi").write_text(
        interchange([status("PRO4"), status("PRO5")], control="000000002")
    )

    result = ingest_entity(name, "shipment_status")

    assert (result["landed"], result["dead_lettered"]) == (4, 1)
    assert result["files"] == {"A.edi": "rejected", "B.edi": "archived"}
    with warehouse.connect() as conn:
        dead = conn.execute(
            "select record_location, reason, field from ops.dead_letters where source = %s",
            (name,),
        ).fetchall()
        landed = conn.execute(
            f'select natural_key from raw."{name}__shipment_status" order by 1'
        ).fetchall()
    [(location, reason, field)] = dead
    assert location.startswith("A.edi: interchange 000000001, group 905, ST 0002")
    assert "B10-01 is 9300 characters long, over its cap of 30" in reason
    assert "(segment B10 at #12)" in reason
    assert field == "B10-01"
    assert [row[0] for row in landed] == ["PRO1", "PRO3", "PRO4", "PRO5"]
    assert (inbound / "rejected" / "A.edi").exists() and (inbound / "archive" / "B.edi").exists()
    acks = sorted(p.name for p in outbound.iterdir())
    assert acks == ["997_SENDER_000000001.edi", "997_SENDER_000000002.edi"]  # no temp left
    ack = parse_file(outbound / "997_SENDER_000000001.edi")
    ak5 = [s for ts in ack.transaction_sets for s in ts.body if s[0] == "AK5"]
    assert ak5 == [["AK5", "A"], ["AK5", "R", "5"], ["AK5", "A"]]


def test_a_large_file_lands_every_set_through_the_stream(x12_source, monkeypatch) -> None:
    from waybill.connectors.edi import parser

    monkeypatch.setattr(parser, "CHUNK_SIZE", 97)  # many chunk boundaries inside segments
    name, inbound, _ = x12_source
    inbound.mkdir(parents=True)
    (inbound / "BIG.edi").write_text(interchange([status(f"P{i:05d}") for i in range(1, 301)]))

    result = ingest_entity(name, "shipment_status")

    assert (result["read"], result["landed"], result["dead_lettered"]) == (300, 300, 0)
    assert result["files"] == {"BIG.edi": "archived"}


def test_file_items_stream_records_then_file_errors_and_publish_the_997_once_read(
    tmp_path,
) -> None:
    from waybill.connectors.x12_files import x12_file_items
    from waybill.load.records import DeadLetter, Record
    from waybill.sources import EntityConfig

    entity = EntityConfig(
        name="shipment_status",
        kind="x12_files",
        natural_key=("carrier_pro",),
        transaction_set="214",
    )
    path = tmp_path / "in.edi"
    path.write_text(interchange([status("PRO1"), status("PRO2")]).replace("GE*2*905", "GE*3*905"))
    outbound = tmp_path / "outbound"

    _never_read, untouched_sound = x12_file_items(path, entity, outbound)
    items, sound = x12_file_items(path, entity, outbound)
    first = next(items)
    published_early = outbound.is_dir() and any(p.suffix == ".edi" for p in outbound.iterdir())
    rest = list(items)

    assert isinstance(first, Record) and first.natural_key == "PRO1"
    assert not published_early  # the 997 waits until the whole file is read
    assert isinstance(rest[0], Record)
    assert [type(item) for item in rest[1:]] == [DeadLetter]
    assert "GE01 declares 3 transaction sets, found 2" in rest[1].reason
    assert not sound() and not untouched_sound()
    # No temporary 997 left behind, none made for the items never read.
    assert sorted(p.name for p in outbound.iterdir()) == ["997_SENDER_000000905.edi"]
