"""Ingestion figures: the loader against plain COPY and executemany on one payload, and the
sandbox API → raw throughput with peak memory at scale.

Records ``ingest.loader_vs_copy`` (goal >= 0.5), ``ingest.loader_vs_executemany`` (goal >= 3),
``ingest.api_events_per_s`` and ``ingest.peak_rss_mb`` (of this process, which runs the whole
extract-and-load; flat in the number of events). ``WAYBILL_BENCH_INGEST_EVENTS`` shrinks the
1,000,000-event scale for a quick run.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime

import psutil

LOADER_ROWS = 50_000
REPEATS = 5
EVENTS = int(os.environ.get("WAYBILL_BENCH_INGEST_EVENTS", "1000000"))


def run(results: dict) -> None:
    """Measure and add the four ``ingest.*`` figures to ``results``."""
    from waybill import runtime

    runtime.apply()
    copy_ratio, executemany_ratio = _loader_ratios()
    results["ingest.loader_vs_copy"] = round(copy_ratio, 3)
    results["ingest.loader_vs_executemany"] = round(executemany_ratio, 2)
    events_per_s, peak_rss = _api_to_raw(EVENTS)
    results["ingest.api_events_per_s"] = round(events_per_s)
    results["ingest.peak_rss_mb"] = round(peak_rss, 1)


def _payloads(n: int) -> list[dict]:
    return [
        {
            "trackingNumber": f"1Z{i:016d}",
            "shipperReference": f"SO-{1000000 + i}",
            "activity": {"date": "20250106", "time": "101500", "status": {"code": "DP"}},
            "publishedAt": "2025-01-06T16:20:00Z",
        }
        for i in range(n)
    ]


def _loader_ratios() -> tuple[float, float]:
    """Rows/s of the loader against a plain COPY and against executemany, on the same records.

    All three start from the same Python records (payload dicts, as connectors hand them over)
    and end committed; the baselines json.dumps each payload like a plain script would. The COPY
    baseline writes (natural key, payload) rows into a bare JSONB table; the executemany one does
    the loader's whole job row at a time — the same raw table, columns and (natural key, payload
    hash) dedupe — through psycopg's pipelined ``executemany``. Each is run ``REPEATS`` times on a
    fresh table, alternating, and the median taken.
    """
    from waybill import warehouse
    from waybill.load.copy import load_batch
    from waybill.load.records import Record
    from waybill.load.schema import ensure_ops_schema, ensure_raw_table

    payloads = _payloads(LOADER_ROWS)
    timings: dict[str, list[float]] = {"loader": [], "copy": [], "many": []}
    with warehouse.connect() as conn:
        ensure_ops_schema(conn)
        for _ in range(REPEATS):
            source = f"bench{uuid.uuid4().hex[:8]}"
            try:
                started = time.perf_counter()
                load_batch(
                    conn,
                    source,
                    "events",
                    (Record(p["trackingNumber"], p, f"item {i}") for i, p in enumerate(payloads)),
                )
                timings["loader"].append(LOADER_ROWS / (time.perf_counter() - started))

                conn.execute(f"create table raw.{source}__plain (natural_key text, payload jsonb)")
                conn.commit()
                started = time.perf_counter()
                with (
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy(f"copy raw.{source}__plain (natural_key, payload) from stdin") as copy,
                ):
                    for p in payloads:
                        copy.write_row((p["trackingNumber"], json.dumps(p)))
                timings["copy"].append(LOADER_ROWS / (time.perf_counter() - started))

                # The same job row at a time: the same raw table, columns and (natural key,
                # payload hash) dedupe, the canonical JSON and its hash made in Python.
                many = ensure_raw_table(conn, source, "many").as_string(conn)
                batch_id, extracted_at = uuid.uuid4(), datetime.now(UTC)
                started = time.perf_counter()
                rows = []
                for i, p in enumerate(payloads):
                    text = json.dumps(p, sort_keys=True, separators=(",", ":"))
                    digest = hashlib.md5(text.encode()).hexdigest()
                    key = p["trackingNumber"]
                    rows.append(
                        (batch_id, source, "many", extracted_at, key, digest, text, f"item {i}")
                    )
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        f"insert into {many} (batch_id, source, entity, extracted_at, natural_key,"
                        " payload_hash, payload, record_location)"
                        " values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
                        rows,
                    )
                timings["many"].append(LOADER_ROWS / (time.perf_counter() - started))
            finally:
                conn.rollback()
                with conn.transaction():
                    for table in ("events", "plain", "many"):
                        conn.execute(f"drop table if exists raw.{source}__{table}")
                    conn.execute("delete from ops.load_batches where source = %s", (source,))
    loader, copy_rps, many = (statistics.median(timings[k]) for k in ("loader", "copy", "many"))
    return loader / copy_rps, loader / many


def _api_to_raw(events: int) -> tuple[float, float]:
    """Serve a fixed, generated event feed over real HTTP and ingest it through the connector.

    The sandbox's worlds are meant for paging small feeds; at a million events a synthetic feed
    with the ParcelCo shape and page tokens exercises the same client, pagination and loader.
    """
    import tempfile

    import uvicorn
    from fastapi import FastAPI

    from waybill import warehouse
    from waybill.ingest import ingest_entity
    from waybill.sources import load_sources
    from waybill_sandbox.server import free_port

    page_max = 1000
    app = FastAPI()

    @app.get("/carriers/benchco/events")
    def feed(page_token: str | None = None, limit: int = 500) -> dict:
        start = int(page_token or 0)
        stop = min(events, start + min(limit, page_max))
        body: dict = {
            "events": [
                {
                    "trackingNumber": f"1Z{i:016d}",
                    "shipperReference": f"SO-{i}",
                    "activity": {
                        "date": "20250106",
                        "time": f"{i % 240000:06d}",
                        "status": {"type": "I", "code": "DP"},
                    },
                    "publishedAt": "2025-01-06T16:20:00Z",
                }
                for i in range(start, stop)
            ]
        }
        if stop < events:
            body["nextPageToken"] = str(stop)
        return body

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    name = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as registry:
        registry.write(
            f"""
sources:
  {name}:
    kind: rest
    connection_id: {name}_api
    page_size: {page_max}
    entities:
      tracking_events:
        path: /events
        pagination: page_token
        items_field: events
        next_field: nextPageToken
        cursor_param: page_token
        limit_param: limit
        natural_key: [trackingNumber, activity.date, activity.time]
        incremental: {{kind: page_token}}
"""
        )
    previous = os.environ.get("WAYBILL_SOURCES")
    os.environ["WAYBILL_SOURCES"] = registry.name
    os.environ[f"AIRFLOW_CONN_{name.upper()}_API"] = json.dumps(
        {"conn_type": "http", "host": f"http://127.0.0.1:{port}/carriers/benchco"}
    )
    load_sources.cache_clear()
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        started = time.perf_counter()
        result = ingest_entity(name, "tracking_events")
        elapsed = time.perf_counter() - started
    finally:
        done.set()
        server.should_exit = True
        if previous is None:
            os.environ.pop("WAYBILL_SOURCES", None)
        else:
            os.environ["WAYBILL_SOURCES"] = previous
        load_sources.cache_clear()
        os.unlink(registry.name)
        with warehouse.connect() as conn, conn.transaction():
            conn.execute(f"drop table if exists raw.{name}__tracking_events")
            for table in ("load_batches", "watermarks", "dead_letters"):
                conn.execute(f"delete from ops.{table} where source = %s", (name,))
    if result["landed"] != events:
        raise RuntimeError(f"bench ingest landed {result['landed']} of {events} events")
    return events / elapsed, peak[0] / 1e6
