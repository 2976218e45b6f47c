"""``backfill_entity`` against the sandbox over HTTP: an interval lost from raw comes back once.

The ERP's orders are ingested as a scheduled run would; the rows updated on some days are then
deleted from raw (a lost interval). Backfilling those days lands exactly them again, reads nothing
outside the interval, leaves the watermark alone, and a second backfill lands nothing.
"""

from __future__ import annotations

from datetime import date

import pytest

from waybill import warehouse
from waybill.backfill import BackfillUnsupported, backfill_entity, interval_bounds
from waybill.demo import sandbox_connections
from waybill.ingest import ingest_entity

pytestmark = pytest.mark.e2e

TOKEN = "backfill-test-token"


@pytest.fixture
def sandbox(clean_warehouse, monkeypatch, tmp_path):
    """The sandbox (seed 5, 40 shipments) over HTTP with every connection pointed at it."""
    from waybill_sandbox.server import running_sandbox

    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(tmp_path / "inbound"))
    with running_sandbox(
        seed=5, shipments=40, erp_token=TOKEN, inbound=tmp_path / "inbound"
    ) as base_url:
        for name, value in sandbox_connections(base_url, TOKEN).items():
            monkeypatch.setenv(name, value)
        yield base_url


def _orders(conn) -> list[tuple]:
    return conn.execute(
        "select natural_key, payload_hash from raw.erp__orders order by 1, 2"
    ).fetchall()


def _watermark(conn) -> tuple | None:
    return conn.execute(
        "select cursor_value, updated_at from ops.watermarks"
        " where source = 'erp' and entity = 'orders'"
    ).fetchone()


def test_a_lost_interval_lands_again_once_and_the_watermark_stays(sandbox):
    ingest_entity("erp", "orders", run_id="scheduled")
    with warehouse.connect(autocommit=True) as conn:
        landed = _orders(conn)
        watermark = _watermark(conn)
        days = conn.execute(
            "select min((payload ->> 'updated_at')::timestamptz at time zone 'UTC')::date,"
            " max((payload ->> 'updated_at')::timestamptz at time zone 'UTC')::date"
            " from raw.erp__orders"
        ).fetchone()
        start = end = days[0]
        if days[1] > days[0]:
            end = date.fromordinal(days[0].toordinal() + (days[1] - days[0]).days // 2)
        lower, upper = interval_bounds(start, end)
        lost = conn.execute(
            "delete from raw.erp__orders where (payload ->> 'updated_at')::timestamptz >= %s"
            " and (payload ->> 'updated_at')::timestamptz < %s",
            (lower, upper),
        ).rowcount
    assert 0 < lost < len(landed)

    first = backfill_entity("erp", "orders", start, end, run_id="backfill-1")
    again = backfill_entity("erp", "orders", start, end, run_id="backfill-2")

    assert (first["landed"], first["dead_lettered"]) == (lost, 0)
    assert first["read"] == lost  # nothing outside the interval is asked for
    assert (again["landed"], again["duplicate"]) == (0, lost)
    with warehouse.connect(autocommit=True) as conn:
        assert _orders(conn) == landed
        assert _watermark(conn) == watermark


def test_an_entity_without_an_updated_since_watermark_is_refused(sandbox, capsys):
    from waybill.cli import main

    interval = ["--from", "2026-03-01", "--to", "2026-03-07"]
    status = main(["backfill", "--source", "wms", "--entity", "inventory", *interval])
    assert status == 2
    assert "wms/inventory (rest) has no updated_since watermark" in capsys.readouterr().err
    with pytest.raises(BackfillUnsupported) as refused:
        backfill_entity("wms", "shipment_confirmations", date(2026, 3, 1), date(2026, 3, 7))
    assert "wms/shipment_confirmations" in str(refused.value)
    with pytest.raises(ValueError, match="before it starts"):
        interval_bounds(date(2026, 3, 7), date(2026, 3, 1))


def test_the_backfill_dag_lands_the_interval_through_airflow(sandbox, airflow_db):
    from waybill.orchestration.runner import run_dag

    ingest_entity("erp", "orders", run_id="scheduled")
    with warehouse.connect(autocommit=True) as conn:
        landed = _orders(conn)
        first, last = conn.execute(
            "select min(d), max(d) from (select ((payload ->> 'updated_at')::timestamptz"
            " at time zone 'UTC')::date as d from raw.erp__orders) as days"
        ).fetchone()
    conf = {"source": "erp", "entity": "orders", "from": str(first), "to": str(last)}
    run = run_dag("backfill_source", conf=conf, retries=False)
    with warehouse.connect(autocommit=True) as conn:
        counts = conn.execute(
            "select sum(records_landed), sum(records_duplicate) from ops.load_batches"
            " where run_id = %s",
            (run.run_id,),
        ).fetchone()
        assert _orders(conn) == landed
    assert counts == (0, len(landed))
