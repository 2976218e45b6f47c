"""The loader's binary COPY and its dedupe, row by row, against the real warehouse."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from waybill.load import copy as loader
from waybill.load.copy import load_batch
from waybill.load.records import Record


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 records written 3 rows at a time: every boundary is crossed in a small batch."""
    monkeypatch.setattr(loader, "CHUNK_RECORDS", 7)
    monkeypatch.setattr(loader, "COPY_WRITE_ROWS", 3)


def _rows(conn, source):
    return conn.execute(
        "select batch_id, source, entity, natural_key, payload_hash, payload, record_location,"
        f' extracted_at from raw."{source}__events" order by raw_id'
    ).fetchall()


def test_every_column_lands_as_given(conn, own_source):
    extracted_at = datetime(2025, 3, 9, 1, 59, 58, 123456, tzinfo=timezone(timedelta(hours=-5)))
    records = [
        Record("A-1", {"b": 2, "a": [1, "x"]}, "page 1 item 0"),
        Record("Zürich\ttab", {"note": 'line\nbreak \\ quote"'}, "file a\tb\\c\nd.csv line 2"),
        Record("A-3", '{"z": null, "y": "text"}', None),
    ]

    result = load_batch(conn, own_source, "events", records, extracted_at=extracted_at)

    rows = _rows(conn, own_source)
    assert (result.read, result.landed, result.duplicate) == (3, 3, 0)
    assert {row[0] for row in rows} == {result.batch_id}
    assert {(row[1], row[2]) for row in rows} == {(own_source, "events")}
    assert [row[3] for row in rows] == ["A-1", "Zürich\ttab", "A-3"]
    assert [row[5] for row in rows] == [
        {"a": [1, "x"], "b": 2},
        {"note": 'line\nbreak \\ quote"'},
        {"y": "text", "z": None},
    ]
    for row in rows:
        canonical = json.dumps(row[5], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row[4] == hashlib.md5(canonical.encode()).hexdigest()
    assert [row[6] for row in rows] == ["page 1 item 0", "file a\tb\\c\nd.csv line 2", None]
    assert {row[7] for row in rows} == {extracted_at.astimezone(UTC)}


@pytest.mark.usefixtures("small_chunks")
def test_repeats_across_chunks_land_once_into_an_empty_table(conn, own_source):
    records = [Record(f"K-{i % 10}", {"v": i % 10}, f"item {i}") for i in range(40)]

    result = load_batch(conn, own_source, "events", records)

    assert (result.read, result.landed, result.duplicate) == (40, 10, 30)
    assert sorted(row[3] for row in _rows(conn, own_source)) == [f"K-{i}" for i in range(10)]


@pytest.mark.usefixtures("small_chunks")
def test_into_a_loaded_table_only_new_versions_land(conn, own_source):
    load_batch(conn, own_source, "events", [Record(f"K-{i}", {"v": 1}, "first") for i in range(20)])
    # Every second record changed; each change sent twice, in different chunks.
    again = [Record(f"K-{i}", {"v": 1 + i % 2}, "second") for i in range(20)] * 2

    result = load_batch(conn, own_source, "events", again)

    assert (result.read, result.landed, result.duplicate) == (40, 10, 30)
    versions = conn.execute(
        f'select natural_key, count(*) from raw."{own_source}__events" group by 1'
    ).fetchall()
    assert sorted(count for _, count in versions) == [1] * 10 + [2] * 10


def test_an_empty_batch_is_recorded_and_lands_nothing(conn, own_source):
    result = load_batch(conn, own_source, "events", [], watermark="2025-01-01T00:00:00Z")

    assert (result.read, result.landed) == (0, 0)
    assert _rows(conn, own_source) == []
    status = conn.execute(
        "select status, records_read from ops.load_batches where batch_id = %s",
        (result.batch_id,),
    ).fetchone()
    assert status == ("succeeded", 0)
