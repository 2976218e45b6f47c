"""Canonical carrier events land beside raw, through each format's one normaliser.

Records come from the sandbox's own payload builders (the UPS-like feed, the UPS Track Alert
push, the FedEx-like feed, the X12 214 record mapping), so the same physical event is built
for each channel independently of the code under test.
"""

from __future__ import annotations

import uuid

import pytest

from waybill import warehouse
from waybill.connectors.carrier_records import (
    EventsConfigError,
    EventsSpec,
    event_deriver,
    record_events,
    x12_214_events,
)
from waybill.connectors.carriers import CanonicalEvent, NormalizeError
from waybill.load.copy import land_events, load_batch
from waybill.load.records import Record
from waybill.load.schema import ensure_ops_schema

FEED = EventsSpec("ups", "activity", "api", "shipperReference", "publishedAt")
ALERT = EventsSpec("ups", "track_alert", "webhook")
SCAN = EventsSpec("fedex", "scan", "api", "shipperReference", "publishedAt")


@pytest.fixture(scope="module")
def world():
    from waybill_sandbox.world import World

    return World(7, 80)


def _shipments(world, carrier: str):
    return [
        world.shipment(i)
        for i in range(world.n)
        if world.shipment(i).carrier.carrier_code == carrier and world.shipment(i).events
    ]


def _events(payload, spec: EventsSpec, carrier: str) -> list[CanonicalEvent]:
    items = list(record_events(payload, spec, carrier=carrier, source="test"))
    assert all(isinstance(item, CanonicalEvent) for item in items), items
    return [item for item in items if isinstance(item, CanonicalEvent)]


def test_a_ups_event_pulled_and_pushed_has_one_id_and_one_instant(world) -> None:
    from waybill_sandbox.carrier_json import ups_feed_event, ups_webhook_body

    compared = 0
    for shipment in _shipments(world, "parcelco")[:10]:
        for k in range(len(shipment.events)):
            (pulled,) = _events(ups_feed_event(shipment, k, world), FEED, "parcelco")
            (pushed,) = _events(ups_webhook_body(shipment, k, world), ALERT, "parcelco")
            assert pulled.event_id == pushed.event_id
            assert pulled.occurred_at_utc == pushed.occurred_at_utc
            assert pulled.occurred_at_utc is not None
            assert (pulled.milestone, pulled.source_channel) == (
                shipment.events[k].milestone,
                "api",
            )
            assert pushed.source_channel == "webhook"
            compared += 1
    assert compared > 20


def test_a_bad_record_names_its_own_path_and_field(world) -> None:
    from waybill_sandbox.carrier_json import ups_feed_event, ups_webhook_body

    shipment = _shipments(world, "parcelco")[0]
    feed = ups_feed_event(shipment, 0, world)
    feed["activity"]["date"] = "2025-01"
    alert = ups_webhook_body(shipment, 0, world)
    del alert["activityStatus"]

    (feed_error,) = record_events(feed, FEED, carrier="parcelco", source="raw.t k")
    (alert_error,) = record_events(alert, ALERT, carrier="parcelco", source="raw.t k")
    (not_object,) = record_events(["x"], FEED, carrier="parcelco", source="raw.t k")

    assert isinstance(feed_error, NormalizeError)
    assert (feed_error.path, feed_error.field) == ("$.activity", "date")
    assert isinstance(alert_error, NormalizeError)
    assert (alert_error.path, alert_error.field) == ("$", "activityStatus")
    assert "record must be an object" in not_object.message


def test_fedex_scan_records_keep_the_offset_instant(world) -> None:
    from waybill_sandbox.carrier_json import fedex_feed_event

    shipment = _shipments(world, "swiftex")[0]
    (event,) = _events(fedex_feed_event(shipment, 0), SCAN, "swiftex")
    assert event.time_zone_source == "payload"
    assert event.carrier == "swiftex"
    assert event.tracking_number == shipment.tracking_number


def test_x12_214_events_follow_the_place_then_the_time_code() -> None:
    record = {
        "carrier_pro": "PRO1",
        "references": [{"qualifier": "PO", "value": "SO-1"}],
        "events": [
            {"status_code": "X1", "status_reason": "NS", "event_date": "20250310",
             "event_time": "0930", "time_code": "CT", "city": "Denver", "state": "CO"},
            {"status_code": "D1", "status_reason": "A1", "event_date": "20250310",
             "event_time": "1015", "time_code": "CT", "city": "Nowhere", "state": "ZZ"},
            {"status_code": "AF", "event_date": "2025031", "event_time": "1015"},
        ],
    }  # fmt: skip

    first, second, bad = x12_214_events(record, carrier="ridgeline")

    assert isinstance(first, CanonicalEvent)
    assert (first.time_zone, first.occurred_at_utc) == ("America/Denver", "2025-03-10T15:30:00Z")
    assert first.reason_code is None
    assert isinstance(second, CanonicalEvent)
    assert (second.time_zone, second.time_zone_source) == ("America/Chicago", "payload")
    assert second.occurred_at_utc == "2025-03-10T15:15:00Z"
    assert (second.milestone, second.reason_code) == ("delivered", "A1")
    assert isinstance(bad, NormalizeError)
    assert (bad.path, bad.field) == ("$.events[2]", "event_date")


def test_an_events_block_with_an_unknown_format_is_refused() -> None:
    with pytest.raises(EventsConfigError) as raised:
        EventsSpec.from_options("source 'x', entity 'y'", {"events": {"format": "upsx"}}, "rest")
    assert "source 'x', entity 'y'" in str(raised.value)
    with pytest.raises(EventsConfigError, match="record 'scan'"):
        EventsSpec.from_options("here", {"events": {"format": "ups", "record": "scan"}}, "rest")


@pytest.fixture
def own_carrier():
    """A carrier name no other test uses; its raw, canonical and ops rows are removed after."""
    name = f"c{uuid.uuid4().hex[:12]}"
    with warehouse.connect() as conn:
        ensure_ops_schema(conn)
        conn.commit()
        yield conn, name
        conn.rollback()
        with conn.transaction():
            for (table,) in conn.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'raw' and table_name like %s",
                (f"{name}\\_\\_%",),
            ).fetchall():
                conn.execute(f'drop table raw."{table}"')
            conn.execute("delete from raw.carrier_events where carrier_code = %s", (name,))
            for ops in ("dead_letters", "load_batches", "watermarks"):
                conn.execute(f"delete from ops.{ops} where source = %s", (name,))


def test_pulled_and_pushed_land_once_with_lineage_and_bad_records_dead_letter(
    world, own_carrier
) -> None:
    from waybill_sandbox.carrier_json import ups_feed_event, ups_webhook_body

    conn, carrier = own_carrier
    shipment = _shipments(world, "parcelco")[0]
    count = len(shipment.events)
    feed = [ups_feed_event(shipment, k, world) for k in range(count)]
    broken = {**feed[0], "activity": {**feed[0]["activity"], "time": "9999"}}
    records = [
        Record(f"{p['trackingNumber']}|{k}", p, f"page 1 item {k}") for k, p in enumerate(feed)
    ]
    records.append(Record("broken", broken, "page 1 item 99"))

    pulled = load_batch(
        conn, carrier, "tracking_events", records,
        events=event_deriver(FEED, carrier, f"{carrier}__tracking_events"),
    )  # fmt: skip
    pushes = [
        (Record(f"{shipment.tracking_number}-{k}", ups_webhook_body(shipment, k, world), "push"),
         f"hash{k}")
        for k in range(count)
    ]  # fmt: skip
    pushed = land_events(
        conn, carrier, "webhook_events", pushes,
        event_deriver(ALERT, carrier, f"{carrier}__webhook_events"), watermark="w1",
    )  # fmt: skip
    again = land_events(
        conn, carrier, "webhook_events", pushes,
        event_deriver(ALERT, carrier, f"{carrier}__webhook_events"), watermark="w2",
    )  # fmt: skip

    assert (pulled.landed, pulled.events_landed, pulled.events_dead_lettered) == (
        count + 1,
        count,
        1,
    )
    assert (pushed.events_landed, pushed.events_dead_lettered) == (0, 0)
    assert again.events_landed == 0
    rows = conn.execute(
        "select source_channel, raw_table, shipper_reference, published_at is not null,"
        " occurred_at_utc is not null from raw.carrier_events where carrier_code = %s",
        (carrier,),
    ).fetchall()
    assert len(rows) == count
    assert {row[:3] for row in rows} == {
        ("api", f"{carrier}__tracking_events", shipment.order_number)
    }
    assert all(row[3] and row[4] for row in rows)
    letter = conn.execute(
        "select entity, record_location, field, reason from ops.dead_letters where source = %s",
        (carrier,),
    ).fetchall()
    assert letter == [
        (
            "tracking_events",
            "page 1 item 99 $.activity",
            "time",
            "canonical event: raw."
            f"{carrier}__tracking_events broken: $.activity: field 'time': must be HHMMSS,"
            " got '9999'",
        )
    ]
    conn.commit()


def _no_gmt(record: dict) -> dict:
    activity = {k: v for k, v in record["activity"].items() if not k.startswith("gmt")}
    return {**record, "activity": activity}


def test_an_event_pushed_first_keeps_its_channel_and_takes_the_pull_s_publication_time(
    world, own_carrier
) -> None:
    from waybill_sandbox.carrier_json import ups_feed_event, ups_webhook_body

    conn, carrier = own_carrier
    shipment = _shipments(world, "parcelco")[1]
    pushes = [
        (
            Record(f"{shipment.tracking_number}-0", ups_webhook_body(shipment, 0, world), "push"),
            "h0",
        )
    ]
    feed = ups_feed_event(shipment, 0, world)

    land_events(
        conn, carrier, "webhook_events", pushes,
        event_deriver(ALERT, carrier, f"{carrier}__webhook_events"), watermark=None,
    )  # fmt: skip
    before = conn.execute(
        "select source_channel, published_at, loaded_at from raw.carrier_events"
        " where carrier_code = %s",
        (carrier,),
    ).fetchall()
    # The push's offset decided the instant; the zone is still its place's, as a pull's would be.
    zone = conn.execute(
        "select time_zone, time_zone_source from raw.carrier_events where carrier_code = %s",
        (carrier,),
    ).fetchone()
    feed_without_offset = _no_gmt(feed)
    (pulled_alone,) = _events(feed_without_offset, FEED, carrier)
    conn.commit()
    pulled = load_batch(
        conn, carrier, "tracking_events", [Record("k", feed, "page 1 item 0")],
        events=event_deriver(FEED, carrier, f"{carrier}__tracking_events"),
    )  # fmt: skip
    after = conn.execute(
        "select source_channel, published_at, loaded_at from raw.carrier_events"
        " where carrier_code = %s",
        (carrier,),
    ).fetchall()

    assert [(channel, published) for channel, published, _ in before] == [("webhook", None)]
    assert zone == (pulled_alone.time_zone, "payload")
    assert zone[0] is not None
    assert "gmtOffset" not in feed_without_offset["activity"]
    assert pulled.events_landed == 0
    assert len(after) == 1
    assert after[0][0] == "webhook"
    assert after[0][1].isoformat().replace("+00:00", "Z") == feed["publishedAt"]
    assert after[0][2] > before[0][2]
    conn.commit()


def test_a_new_carrier_on_a_known_format_is_a_sources_yaml_block(monkeypatch, tmp_path) -> None:
    """A carrier with a FedEx-shaped feed: one YAML block, and its events land canonical."""
    import json

    from waybill.ingest import ingest_entity
    from waybill.sources import load_sources
    from waybill_sandbox.server import running_sandbox

    name = f"bluejay{uuid.uuid4().hex[:6]}"
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        f"""
sources:
  {name}:
    kind: rest
    connection_id: {name}_api
    entities:
      tracking_events:
        path: /events
        pagination: page_token
        items_field: events
        next_field: nextPageToken
        cursor_param: page_token
        limit_param: limit
        natural_key: [trackingNumber, scanEvent.date, scanEvent.eventType]
        incremental: {{kind: page_token}}
        events: {{format: fedex, record: scan, reference: shipperReference, published_at: publishedAt}}
"""
    )
    monkeypatch.setenv("WAYBILL_SOURCES", str(registry))
    load_sources.cache_clear()
    try:
        with running_sandbox(seed=3, shipments=20) as base_url:
            monkeypatch.setenv(
                f"AIRFLOW_CONN_{name.upper()}_API",
                json.dumps({"conn_type": "http", "host": f"{base_url}/carriers/swiftex"}),
            )
            result = ingest_entity(name, "tracking_events")
        with warehouse.connect() as conn:
            rows = conn.execute(
                "select count(*), count(distinct tracking_number), bool_and(milestone <> 'unmapped'),"
                " bool_and(occurred_at_utc is not null) from raw.carrier_events"
                " where carrier_code = %s",
                (name,),
            ).fetchone()
            conn.execute("delete from raw.carrier_events where carrier_code = %s", (name,))
            conn.execute(f'drop table if exists raw."{name}__tracking_events"')
            for ops in ("dead_letters", "load_batches", "watermarks"):
                conn.execute(f"delete from ops.{ops} where source = %s", (name,))
            conn.commit()
    finally:
        load_sources.cache_clear()

    assert result["landed"] > 0
    assert result["events_landed"] == rows[0] > 0
    assert result["events_dead_lettered"] == 0
    assert rows[1:] == (rows[1], True, True)
    assert rows[1] > 1
