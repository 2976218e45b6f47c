"""An incremental dbt build must leave the warehouse exactly as a full rebuild of the same raw data.

A sandbox world is landed through the ingestion code into a database of its own; a third of the
carrier events, TMS shipments, WMS confirmations and proofs of delivery are held back and the rest dated 10 to 19 days back (history,
most of it beyond the incremental lookback). After
a full build the held-back rows land now — new events, republications of events already built,
TMS shipments arriving after their carrier's events, proofs of delivery after their
shipments — and ``dbt build`` runs incrementally. Every
table in staging, intermediate and marts must then equal (as a multiset of rows) what
``dbt build --full-refresh`` makes of the same raw data.
"""

from __future__ import annotations

import os
import subprocess

import psycopg
import pytest
from psycopg import sql

from waybill import warehouse
from waybill.demo import sandbox_connections
from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

pytestmark = pytest.mark.e2e

DATABASE = "waybill_incremental_test"
TOKEN = "incremental-test-token"
HELD_BACK = (
    "carrier_events",
    "parcelco__tracking_events",
    "swiftex__tracking_events",
    "ridgeline__shipment_status",
    "tms__shipments",
    "wms__shipment_confirmations",
    "ridgeline__pods",
    "parcelco__tracking_details",
    "swiftex__tracking_details",
)
MODEL_SCHEMAS = ("staging", "intermediate", "marts")


@pytest.fixture
def private_warehouse(monkeypatch):
    """A database of this test's own on the warehouse server; the warehouse points at it."""
    location = warehouse.location()
    with psycopg.connect(location.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    monkeypatch.setenv("WAREHOUSE_URL", location.url("postgresql", database=DATABASE))
    warehouse.location.cache_clear()
    try:
        yield
    finally:
        warehouse.location.cache_clear()


@pytest.fixture
def landed_world(private_warehouse, monkeypatch, tmp_path):
    """Land a small sandbox world (seed 23, 80 shipments) into raw through the ingestion code."""
    from waybill.ingest import ingest_entity
    from waybill.sources import load_sources
    from waybill_sandbox.server import running_sandbox

    inbound = tmp_path / "inbound"
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
    with running_sandbox(seed=23, shipments=80, erp_token=TOKEN, inbound=inbound) as base_url:
        for name, value in sandbox_connections(base_url, TOKEN).items():
            monkeypatch.setenv(name, value)
        for source in load_sources().values():
            for entity in source.entities:
                ingest_entity(source.name, entity, run_id="incremental_test")


def _dbt_build(*extra: str) -> None:
    env = {**os.environ, **warehouse.dbt_env(), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    completed = subprocess.run(
        [DBT_EXECUTABLE, "build", "--quiet", *extra],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def _model_tables(conn) -> list[tuple[str, str]]:
    return conn.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
        (list(MODEL_SCHEMAS),),
    ).fetchall()


def _differences(conn, schema: str, table: str) -> int:
    """Rows in one of (built incrementally, rebuilt in full) and not the other, counting repeats."""
    saved = sql.Identifier("incremental_result", f"{schema}__{table}")
    rebuilt = sql.Identifier(schema, table)
    query = sql.SQL(
        "select (select count(*) from (table {a} except all table {b}) as only_incremental)"
        " + (select count(*) from (table {b} except all table {a}) as only_rebuilt)"
    ).format(a=saved, b=rebuilt)
    return conn.execute(query).fetchone()[0]


def _raw_columns(conn, table: str) -> sql.Composable:
    """The columns of a raw table but ``loaded_at``, as a SQL list."""
    columns = [
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'raw' and table_name = %s and column_name <> 'loaded_at'"
            " order by ordinal_position",
            (table,),
        ).fetchall()
    ]
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def test_an_incremental_build_equals_a_full_rebuild(landed_world):
    with warehouse.connect(autocommit=True) as conn:
        # Carriers omit the shipper's reference now and then: such an event takes its order
        # from the TMS shipment naming its tracking number, which may land after it.
        omitted = conn.execute(
            "update raw.carrier_events set shipper_reference = null"
            " where raw_table = 'parcelco__tracking_events' and raw_id % 4 = 1"
        ).rowcount
        assert omitted
        conn.execute("create schema held_back")
        for table in HELD_BACK:
            source, held = sql.Identifier("raw", table), sql.Identifier("held_back", table)
            conn.execute(
                sql.SQL(
                    "create table {held} as with moved as ("
                    " delete from {source} where raw_id % 3 = 0 returning *"
                    ") select * from moved"
                ).format(held=held, source=source)
            )
            assert conn.execute(sql.SQL("select count(*) from {}").format(held)).fetchone()[0]
        for schema, table in conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = 'raw'"
        ).fetchall():
            conn.execute(
                sql.SQL(
                    "update {} set loaded_at = loaded_at - interval '1 day' * (10 + raw_id % 10)"
                ).format(sql.Identifier(schema, table))
            )

    _dbt_build("--full-refresh")

    with warehouse.connect(autocommit=True) as conn:
        for table in HELD_BACK:
            column_list = _raw_columns(conn, table)
            conn.execute(
                sql.SQL(
                    "insert into {source} ({columns}, loaded_at) overriding system value"
                    " select {columns}, clock_timestamp() from {held}"
                ).format(
                    source=sql.Identifier("raw", table),
                    held=sql.Identifier("held_back", table),
                    columns=column_list,
                )
            )
        # A TMS shipment built long ago (not yet delivered) is re-sent with another tracking
        # number: the events that took their order from it lose it, and its shipment's
        # roll-ups change.
        retracked = conn.execute(
            sql.SQL(
                "insert into raw.tms__shipments ({columns}, loaded_at) overriding system value"
                " select {columns}, clock_timestamp() from ("
                "  select nextval(pg_get_serial_sequence('raw.tms__shipments', 'raw_id')) as raw_id,"
                "   batch_id, source, entity, natural_key, md5(payload_hash)"
                "   as payload_hash, jsonb_set(payload, '{{tracking_number}}',"
                "   to_jsonb('RETRACKED-' || natural_key)) as payload, record_location,"
                "   extracted_at"
                "  from raw.tms__shipments where raw_id % 3 <> 0"
                "  and payload ->> 'tracking_number' in ("
                "   select tracking_number from raw.carrier_events"
                "   where raw_table = 'parcelco__tracking_events' and shipper_reference is null)"
                "  and payload ->> 'tracking_number' not in ("
                "   select natural_key from raw.parcelco__tracking_details"
                "   where payload ? 'deliveryInformation')"
                "  order by raw_id limit 1"
                " ) as resent"
            ).format(columns=_raw_columns(conn, "tms__shipments"))
        ).rowcount
        assert retracked == 1

    _dbt_build()

    with warehouse.connect(autocommit=True) as conn:
        conn.execute("create schema incremental_result")
        tables = _model_tables(conn)
        for schema, table in tables:
            conn.execute(
                sql.SQL("create table {} as table {}").format(
                    sql.Identifier("incremental_result", f"{schema}__{table}"),
                    sql.Identifier(schema, table),
                )
            )

    _dbt_build("--full-refresh")

    with warehouse.connect(autocommit=True) as conn:
        assert _model_tables(conn) == tables
        differences = {
            f"{schema}.{table}": count
            for schema, table in tables
            if (count := _differences(conn, schema, table))
        }
    assert differences == {}
