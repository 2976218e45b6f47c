"""Every channel reaches the marts through Airflow, and a CSV-only WMS builds the same marts.

Run 1 — the configuration as shipped: the sandbox pushes signed carrier webhooks (ParcelCo's
UPS Track Alert bodies, SwiftEx's feed records) to a running ``waybill webhooks serve`` app,
then every ingestion DAG and ``transform_warehouse`` run through Airflow. The marts must agree
with the sandbox's truth (TrackLane, tracked only through an aggregator's Shippo feed, is one
of the carriers checked), API, Track API detail, webhook, X12 and aggregator events must each be
in ``fct_shipment_milestones``, and an event both pushed and pulled (its ids computed here by
the format's normaliser from the raw rows of both channels) must be one row there.

Run 2 — the same world with the WMS configured as CSV drops only (no ``wms`` API source): the
shipment marts must equal run 1's, row for row (but the channel and landing times), except for
the shipments whose CSV rows the sandbox corrupted on purpose (dead letters, so lines missing).
"""

from __future__ import annotations

import shutil
import threading

import pytest
import requests
import yaml
from psycopg import sql

from tests.e2e.test_walking_skeleton import (
    INGEST_DAGS,
    TOKEN,
    _assert_marts_agree_with_truth,
    _run_transform_and_check_tasks,
    _sandbox,
)
from waybill import warehouse
from waybill.orchestration.runner import dag_bag, run_dag

pytestmark = pytest.mark.e2e

SEED, SHIPMENTS = 7, 60
PUSHED = {"parcelco": 60, "swiftex": 60}
# Shipment-grain marts a CSV-only WMS must build alike. Landing times differ between the runs:
# loaded_at, and pod_received_at of Track API PODs (the API gives no receipt time, so the POD
# counts from its first landing); so does the channel.
COMPARED = ("fct_shipments", "fct_shipment_to_invoice", "fct_shipment_milestones")
IGNORED_COLUMNS = ("loaded_at", "pod_received_at", "source_channel")
# A Track API POD's milestone is timed by its landing too.
LANDING_TIMED = {
    "fct_shipment_milestones": {
        "event_at": "case when milestone = 'pod_received' then null else event_at end"
    }
}


@pytest.fixture
def receiver():
    """``waybill webhooks serve``'s app on a free port; yields its base URL."""
    from waybill.webhooks.limits import Limits
    from waybill.webhooks.receiver import create_app
    from waybill.webhooks.server import build_server
    from waybill_sandbox.server import free_port

    port = free_port()
    # The sandbox signs with its default per-carrier secrets (no webhook_secrets given).
    app = create_app(lambda carrier: f"sandbox-webhook-secret-{carrier}")
    server = build_server(app, "127.0.0.1", port, Limits(), "warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def world(monkeypatch, tmp_path):
    server, base_url, truth = _sandbox(
        monkeypatch, tmp_path, seed=SEED, shipments=SHIPMENTS, faults=0.0
    )
    try:
        yield base_url, truth, tmp_path
    finally:
        server.__exit__(None, None, None)


def _rows(query: str | sql.Composable, params: tuple = ()) -> list[tuple]:
    with warehouse.connect() as conn:
        return conn.execute(query, params).fetchall()


def _push_webhooks(base_url: str, receiver_url: str) -> None:
    for carrier, limit in PUSHED.items():
        answer = requests.post(
            f"{base_url}/carriers/{carrier}/webhooks/deliveries",
            json={"url": f"{receiver_url}/webhooks/{carrier}", "limit": limit},
            headers={"Authorization": f"Bearer {TOKEN}"},  # an admin call: the ERP's token
            timeout=120,
        ).json()
        assert answer["delivered"] == answer["attempted"] == limit, answer


def _event_ids(table: str, spec_entity: str, carrier: str) -> set[str]:
    """The canonical event ids of every row of a raw table, by the format's normaliser."""
    from waybill.connectors.carrier_records import EventsSpec, record_events
    from waybill.connectors.carriers import CanonicalEvent
    from waybill.sources import get_source

    entity = get_source(carrier).entity(spec_entity)
    spec = EventsSpec.from_options(table, entity.options, entity.kind)
    assert spec is not None
    ids = set()
    for (payload,) in _rows(sql.SQL("select payload from {}").format(sql.Identifier("raw", table))):
        for item in record_events(payload, spec, carrier=carrier, source=table):
            assert isinstance(item, CanonicalEvent), item
            ids.add(item.event_id)
    return ids


def _run_pipeline() -> None:
    for dag_id in INGEST_DAGS:
        assert run_dag(dag_id, retries=False).state == "success"
    _run_transform_and_check_tasks()


def _snapshot(schema: str) -> None:
    """Copy the compared marts, without the ignored columns, into ``schema``."""
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        for table in COMPARED:
            columns = [
                name
                for (name,) in conn.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = 'marts' and table_name = %s order by ordinal_position",
                    (table,),
                ).fetchall()
                if name not in IGNORED_COLUMNS
            ]
            overrides = LANDING_TIMED.get(table, {})
            selected = [
                sql.SQL(overrides[name] + " as ") + sql.Identifier(name)
                if name in overrides
                else sql.Identifier(name)
                for name in columns
            ]
            conn.execute(
                sql.SQL("create table {} as select {} from {}").format(
                    sql.Identifier(schema, table),
                    sql.SQL(", ").join(selected),
                    sql.Identifier("marts", table),
                )
            )


def _differences(table: str, skipped_orders: set[str]) -> int:
    a, b = sql.Identifier("api_and_csv", table), sql.Identifier("csv_only", table)
    keep = sql.SQL("where order_number is null or not (order_number = any(%s))")
    query = sql.SQL(
        "select (select count(*) from (select * from {a} {keep} except all"
        " select * from {b} {keep}) as only_first)"
        " + (select count(*) from (select * from {b} {keep} except all"
        " select * from {a} {keep}) as only_second)"
    ).format(a=a, b=b, keep=keep)
    orders = list(skipped_orders)
    return _rows(query, (orders, orders, orders, orders))[0][0]


def _csv_only_sources(path) -> None:
    from waybill.sources import SOURCES_FILE

    config = yaml.safe_load(SOURCES_FILE.read_text())
    del config["sources"]["wms"]
    path.write_text(yaml.safe_dump(config))


def _orders_with_bad_csv_rows(truth: dict) -> set[str]:
    bad_shipments = {row["record"].split("/")[0] for row in truth["csv_bad_rows"]}
    return {s["order_number"] for s in truth["shipments"] if s["wms_shipment_id"] in bad_shipments}


def test_every_channel_reaches_the_marts_and_a_csv_only_wms_builds_the_same_marts(
    clean_warehouse, airflow_db, world, receiver, monkeypatch
):
    base_url, truth, tmp_path = world
    inbound = tmp_path / "inbound"
    shutil.copytree(inbound, tmp_path / "inbound_again")

    # Run 1: pushed before the pull, as a carrier pushes within seconds and the feed is polled.
    _push_webhooks(base_url, receiver)
    _run_pipeline()
    _assert_marts_agree_with_truth(truth, touched=set())

    channels = dict(
        _rows(
            "select source_channel, count(*) from marts.fct_shipment_milestones"
            " where source_system = 'carrier' group by 1"
        )
    )
    assert {"api", "webhook", "x12", "aggregator"} <= set(channels), channels
    # The aggregator-tracked carrier is in the truth comparison above, with its own events.
    assert any(s["carrier_code"] == "tracklane" for s in truth["shipments"])
    assert (
        _rows(
            "select count(*) from marts.fct_shipment_milestones"
            " where carrier_code = 'tracklane' and source_channel = 'aggregator'"
        )[0][0]
        > 0
    )
    # Track API details land their events too (most are the feed's scans again: same ids).
    # What only they report reaches the marts as api when its instant is determinable (SwiftEx's
    # dateAndTimes; ParcelCo's deliveryDate names no place, so it stays in the intermediate).
    detail_tables = [f"{carrier}__tracking_details" for carrier in PUSHED]
    landed = dict(
        _rows(
            "select raw_table, count(*) from raw.carrier_events where raw_table = any(%s)"
            " group by 1",
            (detail_tables,),
        )
    )
    assert set(landed) == set(detail_tables), landed
    details = _rows(
        "select count(*) from marts.fct_shipment_milestones m join raw.carrier_events e"
        " on e.event_id = m.milestone_event_id"
        " where e.raw_table = 'swiftex__tracking_details' and m.source_channel = 'api'"
    )[0][0]
    assert details > 0
    for carrier in PUSHED:
        pushed = _event_ids(f"{carrier}__webhook_events", "webhook_events", carrier)
        pulled = _event_ids(f"{carrier}__tracking_events", "tracking_events", carrier)
        both = pushed & pulled
        assert len(both) == len(pushed) > 0, carrier
        rows = _rows(
            "select milestone_event_id, source_channel from marts.fct_shipment_milestones"
            " where milestone_event_id = any(%s)",
            (list(both),),
        )
        assert len(rows) == len(both), carrier
        assert {channel for _, channel in rows} == {"webhook"}, carrier
    _snapshot("api_and_csv")

    # Run 2: a CSV-only WMS, same world, from empty schemas.
    sources = tmp_path / "sources_csv_only.yaml"
    _csv_only_sources(sources)
    monkeypatch.setenv("WAYBILL_SOURCES", str(sources))
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(tmp_path / "inbound_again"))
    from waybill.sources import load_sources

    load_sources.cache_clear()
    dag_bag.cache_clear()
    try:
        with warehouse.connect(autocommit=True) as conn:
            for schema in ("raw", "ops", "staging", "intermediate", "marts", "snapshots"):
                conn.execute(
                    sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema))
                )
        _run_pipeline()
        assert _rows("select to_regclass('raw.wms__shipment_confirmations')")[0][0] is None
        wms_channels = {
            channel
            for (channel,) in _rows(
                "select distinct source_channel from marts.fct_shipment_milestones"
                " where source_system = 'wms'"
            )
        }
        assert wms_channels == {"csv"}
        _snapshot("csv_only")
        skipped = _orders_with_bad_csv_rows(truth)
        assert len(skipped) < SHIPMENTS // 5, skipped
        for table in COMPARED:
            assert _differences(table, skipped) == 0, table
        compared = _rows(
            "select count(*) from csv_only.fct_shipments where not (order_number = any(%s))",
            (list(skipped),),
        )[0][0]
        assert compared >= SHIPMENTS - len(skipped)
    finally:
        monkeypatch.delenv("WAYBILL_SOURCES")
        load_sources.cache_clear()
        dag_bag.cache_clear()
