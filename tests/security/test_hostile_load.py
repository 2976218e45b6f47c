"""Hostile records never block good data: oversized keys, deep payloads, non-finite numbers,
identifiers that would collide or smuggle a newline, and a file whose load fails outright.

The loader cases go through ``load_batch``; the file cases through ``ingest_entity`` on a CSV
source of their own (a unique name, its own ``sources.yaml``), like a drop in production.
"""

from __future__ import annotations

import csv
import json
import uuid

import pytest

from waybill import warehouse
from waybill.ingest import ingest_entity
from waybill.load.copy import load_batch
from waybill.load.records import (
    HASHED_KEY_PREFIX,
    MAX_JSON_DEPTH,
    MAX_KEY_BYTES,
    PayloadError,
    Record,
    encode_payload_bytes,
    json_too_deep,
)
from waybill.load.schema import ensure_ops_schema, raw_table_name
from waybill.sources import ConfigError, load_sources


@pytest.fixture
def conn():
    with warehouse.connect() as connection:
        ensure_ops_schema(connection)
        yield connection


def _cleanup(name: str, entities: tuple[str, ...]) -> None:
    with warehouse.connect() as conn, conn.transaction():
        for entity in entities:
            conn.execute(f'drop table if exists raw."{name}__{entity}"')
        for table in ("dead_letters", "load_batches", "watermarks", "ingested_files"):
            conn.execute(f"delete from ops.{table} where source = %s", (name,))


@pytest.fixture
def own_source(conn):
    name = f"h{uuid.uuid4().hex[:12]}"
    yield name
    conn.rollback()  # the test's reads hold locks the drop would wait for
    _cleanup(name, ("events",))


def _rows(conn, source: str) -> list[tuple[str, object]]:
    return conn.execute(
        f'select natural_key, payload from raw."{source}__events" order by natural_key'
    ).fetchall()


def _dead(conn, source: str) -> list[tuple[str, str | None, str]]:
    return conn.execute(
        "select record_location, field, reason from ops.dead_letters where source = %s"
        " order by record_location",
        (source,),
    ).fetchall()


def test_long_keys_are_hashed_huge_ones_dead_lettered_and_the_batch_lands(
    conn, own_source, hostile
):
    tally = hostile("loader keys")
    long_key = "L" * (MAX_KEY_BYTES + 1)
    huge_key = "K" * 12_000
    multibyte = "é" * 300  # 600 bytes in UTF-8, 300 characters
    records = [Record(f"good-{i}", {"id": f"good-{i}"}, f"line {i}") for i in range(500)]
    records += [
        Record(long_key, {"id": long_key}, "long"),
        Record(huge_key, {"id": huge_key}, "huge"),
        Record(multibyte, {"id": multibyte}, "multibyte"),
        Record("nul\x00key", {"id": "x"}, "nul"),
    ]
    tally.tried(4)
    try:
        result = load_batch(conn, own_source, "events", records)
        again = load_batch(conn, own_source, "events", records)
    except Exception:
        tally.crashed()
        raise
    rows = dict(_rows(conn, own_source))
    stored_long = [key for key in rows if key.startswith(HASHED_KEY_PREFIX)]
    wrong = sum(1 for key in rows if len(key.encode()) > MAX_KEY_BYTES)
    wrong += sum(1 for key in rows if key.startswith("K"))
    tally.wrong(wrong)

    assert (result.landed, result.dead_lettered) == (502, 2)
    assert (again.landed, again.duplicate) == (0, 502)
    assert wrong == 0 and len(stored_long) == 2
    assert {rows[key]["id"] for key in stored_long} == {long_key, multibyte}
    dead = _dead(conn, own_source)
    assert [(loc, field) for loc, field, _ in dead] == [
        ("huge", "natural_key"),
        ("nul", "natural_key"),
    ]
    assert "12000 bytes" in dead[0][2]


def test_deep_payloads_and_non_finite_numbers_become_dead_letters(conn, own_source, hostile):
    tally = hostile("loader payloads")
    deep_text = "[" * 100_000 + "]" * 100_000
    deep_object: list = []
    for _ in range(MAX_JSON_DEPTH + 5):
        deep_object = [deep_object]
    just_deep_enough: dict = {"v": 1}
    for _ in range(MAX_JSON_DEPTH - 1):
        just_deep_enough = {"v": just_deep_enough}
    bracket_text = {"note": "[" * 500 + "{" * 500, "list": [[1]] * 200}
    hostile_records = [
        Record("deep-text", deep_text, "deep text"),
        Record("deep-object", {"a": deep_object}, "deep object"),
        Record("inf", {"f": float("inf")}, "inf"),
        Record("neg-inf", {"nested": [{"g": float("-inf")}]}, "neg inf"),
        Record("nan", {"n": float("nan"), "ok": None}, "nan"),
        Record("huge-number", '{"f": 1e999}', "huge number"),
        Record("infinity-literal", '{"f": Infinity}', "infinity literal"),
    ]
    good_records = [
        Record("limit", just_deep_enough, "limit"),
        Record("brackets-in-strings", bracket_text, "brackets"),
        Record("null", {"f": None, "g": 1.5}, "null"),
        Record("big-int", {"f": None, "n": 2**70, "x": 1e308}, "big int"),
    ]
    tally.tried(len(hostile_records))
    try:
        result = load_batch(conn, own_source, "events", hostile_records + good_records)
    except Exception:
        tally.crashed()
        raise
    rows = dict(_rows(conn, own_source))
    tally.wrong(len(set(rows) - {r.natural_key for r in good_records}))

    assert (result.landed, result.dead_lettered) == (4, 7)
    assert rows["null"] == {"f": None, "g": 1.5}
    assert rows["big-int"]["n"] == 2**70 and float(rows["big-int"]["x"]) == 1e308
    assert rows["brackets-in-strings"] == bracket_text
    dead = {loc: (field, reason) for loc, field, reason in _dead(conn, own_source)}
    assert dead["inf"][0] == "$.f" and "inf" in dead["inf"][1]
    assert dead["neg inf"][0] == "$.nested[0].g"
    assert dead["nan"][0] == "$.n"
    assert "deeper than 64" in dead["deep text"][1] and dead["deep text"][0] == "$"
    assert "deeper than 64" in dead["deep object"][1]
    assert "not valid JSON" in dead["huge number"][1]


def test_json_depth_ignores_brackets_inside_strings():
    assert not json_too_deep(json.dumps({"s": "[" * 1_000}).encode())
    assert not json_too_deep(json.dumps({"s": '\\"' + "{" * 1_000}).encode())
    assert json_too_deep(b"[" * 65 + b"]" * 65)
    assert not json_too_deep(b"[" * 64 + b"]" * 64)


def test_encode_payload_names_the_non_finite_field():
    with pytest.raises(PayloadError) as caught:
        encode_payload_bytes({"a": {"b": [1.0, float("nan")]}})
    assert caught.value.field == "$.a.b[1]"


@pytest.mark.parametrize(
    ("source", "entity", "message"),
    [
        ("probe", "x\n", "lowercase identifier"),
        ("probe\n", "x", "lowercase identifier"),
        ("Probe", "x", "lowercase identifier"),
        ("probe", "x;drop", "lowercase identifier"),
        ("p" * 40, "e" * 30, "must fit 53"),
        ("p" * 40, "e" * 12, "must fit 53"),
    ],
)
def test_identifiers_are_fully_matched_and_fit_after_composition(source, entity, message):
    with pytest.raises(ValueError, match=message):
        raw_table_name(source, entity)


def test_no_raw_table_is_created_for_a_bad_identifier(conn, hostile):
    tally = hostile("identifiers")
    for source, entity in (("probe", "x\n"), ("p" * 40, "e" * 30)):
        tally.tried()
        with pytest.raises(ValueError, match=r"lowercase identifier|must fit"):
            load_batch(conn, source, entity, [Record("k", {}, "l")])
    created = conn.execute(
        "select count(*) from pg_tables where schemaname = 'raw'"
        " and (tablename like 'probe%%' or tablename like 'pppppppp%%')"
    ).fetchone()[0]
    conn.rollback()
    tally.wrong(created)
    assert created == 0


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ('  "bad\\n":\n    kind: csv_files\n    inbound_dir: x\n', "source name 'bad\\\\n'"),
        (
            f"  {'s' * 40}:\n    kind: csv_files\n    inbound_dir: x\n    entities:\n"
            f"      {'e' * 30}: {{natural_key: id}}\n",
            "must fit 53",
        ),
        (
            "  ok:\n    kind: csv_files\n    inbound_dir: x\n    entities:\n"
            '      "rows\\n": {natural_key: id}\n',
            "entity name 'rows\\\\n'",
        ),
    ],
)
def test_sources_yaml_rejects_bad_identifiers_at_load(tmp_path, yaml_text, message):
    registry = tmp_path / "sources.yaml"
    registry.write_text("sources:\n" + yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_sources.__wrapped__(str(registry))


# --- files: the oversized key case end to end, and a file whose load fails -----------------


@pytest.fixture
def csv_source(tmp_path, monkeypatch):
    name = f"h{uuid.uuid4().hex[:10]}"
    inbound = tmp_path / "inbound"
    (inbound / "csv").mkdir(parents=True)
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        f"""
sources:
  {name}:
    kind: csv_files
    inbound_dir: {inbound}
    entities:
      lines:
        pattern: "*.csv"
        inbound_subdir: csv
        natural_key: [order_id, line]
        required_columns: [order_id, line]
"""
    )
    monkeypatch.setenv("WAYBILL_SOURCES", str(registry))
    load_sources.cache_clear()
    yield name, inbound / "csv"
    load_sources.cache_clear()
    _cleanup(name, ("lines",))


def _write_csv(path, rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["order_id", "line", "note"])
        writer.writerows(rows)


def _count(source: str) -> int:
    with warehouse.connect() as conn:
        return conn.execute(f'select count(*) from raw."{source}__lines"').fetchone()[0]


def test_oversized_key_csv_lands_500_rows_one_dead_letter_and_the_next_file(csv_source, hostile):
    tally = hostile("csv drops")
    name, folder = csv_source
    _write_csv(
        folder / "a_hostile.csv",
        [*[(f"SO{i}", "1", "ok") for i in range(500)], ("K" * 12_000, "1", "x")],
    )
    _write_csv(folder / "b_next.csv", [(f"SO{i}", "2", "next") for i in range(50)])
    tally.tried()
    try:
        result = ingest_entity(name, "lines")
    except Exception:
        tally.crashed()
        raise
    with warehouse.connect() as conn:
        dead = conn.execute(
            "select record_location, field from ops.dead_letters where source = %s", (name,)
        ).fetchall()
        long_rows = conn.execute(
            f'select count(*) from raw."{name}__lines" where length(natural_key) > 512'
        ).fetchone()[0]
    tally.wrong(long_rows)

    assert result["files"] == {"a_hostile.csv": "rejected", "b_next.csv": "archived"}
    assert _count(name) == 550 and long_rows == 0
    assert dead == [("a_hostile.csv line 502", "natural_key")]
    assert not list(folder.glob("*.csv"))
    assert (folder / "rejected" / "a_hostile.csv").exists()
    assert (folder / "archive" / "b_next.csv").exists()


def test_a_file_whose_load_fails_is_rejected_with_a_reason_and_the_next_loads(
    csv_source, monkeypatch, hostile
):
    import waybill.connectors.csv_files as csv_files

    tally = hostile("csv drops")
    name, folder = csv_source
    _write_csv(folder / "a_broken.csv", [(f"SO{i}", "1", "ok") for i in range(10)])
    _write_csv(folder / "b_next.csv", [(f"SO{i}", "2", "next") for i in range(10)])
    real = csv_files.csv_items

    def failing(path, entity):
        if path.name == "a_broken.csv":
            yield from list(real(path, entity))[:5]
            raise UnicodeError("simulated connector failure mid-file")
        yield from real(path, entity)

    monkeypatch.setattr(csv_files, "csv_items", failing)
    tally.tried()
    result = ingest_entity(name, "lines")
    second = ingest_entity(name, "lines")
    with warehouse.connect() as conn:
        dead = conn.execute(
            "select record_location, reason from ops.dead_letters where source = %s", (name,)
        ).fetchall()
        files = conn.execute(
            "select file_name, status from ops.ingested_files where source = %s order by 1",
            (name,),
        ).fetchall()
    landed = _count(name)
    tally.wrong(landed - 10)

    assert result["files"] == {"a_broken.csv": "rejected", "b_next.csv": "archived"}
    assert second["files"] == {}
    assert landed == 10  # the broken file's 5 rows rolled back with its batch
    assert dead == [
        ("a_broken.csv", "file failed to load: UnicodeError: simulated connector failure mid-file")
    ]
    assert files == [("a_broken.csv", "rejected"), ("b_next.csv", "archived")]
    reason = (folder / "rejected" / "a_broken.csv.reason").read_text()
    assert "simulated connector failure" in reason
