"""Webhook figures: signed carrier pushes through ``waybill webhooks serve`` to canonical events.

Records ``ingest.webhook_events_per_s``: events per second from the first signed POST to the
last event's canonical row in ``raw.carrier_events`` — the receiver (HMAC check, durable store in
``raw.<carrier>__webhook_events`` before each 2xx, over loopback HTTP, ``CLIENTS`` senders at a
time) followed by the ``webhook_events`` normalisation (the UPS normaliser, COPY into
``raw.carrier_events``). Beside it, for context, ``ingest.webhook_receive_per_s`` and
``ingest.webhook_normalise_per_s``. ``WAYBILL_BENCH_WEBHOOK_EVENTS`` (default 5,000) sets the scale.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

EVENTS = int(os.environ.get("WAYBILL_BENCH_WEBHOOK_EVENTS", "5000"))
CLIENTS = 4
SECRET = "bench-webhook-secret"


def run(results: dict) -> None:
    """Measure and add the ``ingest.webhook_*`` figures to ``results``."""
    from waybill import runtime

    runtime.apply()
    receive_s, normalise_s = _push_and_normalise(EVENTS)
    results["ingest.webhook_events_per_s"] = round(EVENTS / (receive_s + normalise_s))
    results["ingest.webhook_receive_per_s"] = round(EVENTS / receive_s)
    results["ingest.webhook_normalise_per_s"] = round(EVENTS / normalise_s)


def _body(i: int) -> bytes:
    """One UPS Track Alert ``TrackingEventRequest``: a distinct scan per ``i``."""
    minute = i % 1440
    return json.dumps(
        {
            "trackingNumber": f"1ZBENCH{i // 6:011d}",
            "localActivityDate": f"202501{1 + i % 28:02d}",
            "localActivityTime": f"{minute // 60:02d}{minute % 60:02d}00",
            "activityLocation": {"city": "DALLAS", "stateProvince": "TX", "country": "US"},
            "activityStatus": {"type": "I", "code": "AR", "description": "Arrived at Facility"},
            "gmtActivityDate": "20250106",
            "gmtActivityTime": "161500",
            "gmtOffset": "-06.00",
        },
        separators=(",", ":"),
    ).encode()


def _push_and_normalise(events: int) -> tuple[float, float]:
    """Push ``events`` signed bodies to a running receiver, then normalise them; return seconds."""
    import httpx

    from waybill import warehouse
    from waybill.ingest import ingest_entity
    from waybill.sources import load_sources
    from waybill.webhooks.limits import Limits
    from waybill.webhooks.receiver import create_app
    from waybill.webhooks.server import build_server
    from waybill.webhooks.signatures import sign
    from waybill_sandbox.server import free_port

    name = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as registry:
        registry.write(
            f"""
sources:
  {name}:
    kind: webhook_events
    connection_id: null
    webhook: {{}}
    entities:
      webhook_events:
        natural_key: event_id
        events: {{format: ups, record: track_alert}}
"""
        )
    previous = os.environ.get("WAYBILL_SOURCES")
    os.environ["WAYBILL_SOURCES"] = registry.name
    load_sources.cache_clear()
    port = free_port()
    server = build_server(
        create_app(lambda carrier: SECRET), "127.0.0.1", port, Limits(), "warning"
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/webhooks/{name}"
    bodies = [_body(i) for i in range(events)]
    failures: list[int] = []

    def send(shard: int) -> None:
        with httpx.Client(timeout=30) as client:
            for i in range(shard, events, CLIENTS):
                response = client.post(
                    url,
                    content=bodies[i],
                    headers={
                        "Content-Type": "application/json",
                        "X-Waybill-Event-Id": f"{name}-{i}",
                        "X-Waybill-Signature": sign(
                            bodies[i], SECRET, f"{name}-{i}", int(time.time())
                        ),
                    },
                )
                if response.status_code != 200:
                    failures.append(i)

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(send, range(CLIENTS)))
        received = time.perf_counter()
        result = ingest_entity(name, "webhook_events")
        normalised = time.perf_counter()
    finally:
        server.should_exit = True
        thread.join(10)
        if previous is None:
            os.environ.pop("WAYBILL_SOURCES", None)
        else:
            os.environ["WAYBILL_SOURCES"] = previous
        load_sources.cache_clear()
        os.unlink(registry.name)
        with warehouse.connect() as conn, conn.transaction():
            conn.execute(f"drop table if exists raw.{name}__webhook_events")
            conn.execute("delete from raw.carrier_events where carrier_code = %s", (name,))
            for table in ("load_batches", "watermarks", "dead_letters"):
                conn.execute(f"delete from ops.{table} where source = %s", (name,))
    if failures or result["events_landed"] != events:
        raise RuntimeError(
            f"bench webhooks: {len(failures)} pushes refused, {result['events_landed']} of"
            f" {events} events landed"
        )
    return received - started, normalised - received
