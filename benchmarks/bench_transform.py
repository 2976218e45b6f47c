"""dbt at scale: a full-refresh build over 1,000,000 tracking events, then an incremental build after 1 % more.

Figures:
- ``transform.full_build_s``: wall time of ``dbt build --full-refresh`` (every model, snapshot, seed
  and test) over a warehouse holding ``WAYBILL_BENCH_TRANSFORM_EVENTS`` carrier tracking events;
- ``transform.incremental_vs_full``: the time of the following ``dbt build`` after 1 % more events
  landed, divided by the full build's (goal ≤ 0.2);
- ``transform.incremental_build_s``, ``transform.tracking_events`` for context;
- ``transform.noop_build_s``: a further ``dbt build`` with nothing new landed, and
  ``transform.noop_vs_full``, its ratio to the full build: the floor under any incremental build
  (dbt's start-up, every seed, view, snapshot and test node, the shipment-grain tables rebuilt).

Data: a sandbox world of ``WAYBILL_BENCH_TRANSFORM_SHIPMENTS`` shipments (default 2,000) is landed
through the real ingestion code (the sandbox over loopback HTTP), into a database of its own
(``waybill_bench``, dropped and recreated) on the warehouse server. Its ParcelCo and SwiftEx events
are then replicated in SQL — their canonical rows in ``raw.carrier_events``, the only carrier
event input dbt reads — under new event ids, tracking numbers and order references
(carrier-only shipments, which identity resolution keeps as ``missing_erp_order``) until the
event count is reached. A warehouse holds its events as history landed
day after day, so the replicas' landing times are spread evenly over ``HISTORY_DAYS`` before the
sandbox world's (a million events over two months is ~16,000 a day, a mid-size shipper's feed);
the incremental build then reprocesses what its lookback (``event_lookback_hours``) reaches back
over plus the 1 % new, not the whole history. Set ``WAYBILL_BENCH_TRANSFORM_EVENTS`` to shrink
the scale (e.g. 100000 for a quick run).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENTS = int(os.environ.get("WAYBILL_BENCH_TRANSFORM_EVENTS", "1000000"))
SHIPMENTS = int(os.environ.get("WAYBILL_BENCH_TRANSFORM_SHIPMENTS", "2000"))
SEED = 42
HISTORY_DAYS = 60
DATABASE = "waybill_bench"
TOKEN = "bench-transform-token"
CARRIER_TABLES = ("parcelco__tracking_events", "swiftex__tracking_events")
# The columns of raw.carrier_events a replica rewrites: `{replica}` makes the event id, tracking
# number, order reference and lineage key unique, so each replica is a new set of shipments.
RENAMED = ("event_id", "tracking_number", "shipper_reference", "raw_natural_key")


def _replicate_sql(replica: int, days_ago: float, sample: str = "") -> str:
    """SQL landing one replica of every ParcelCo/SwiftEx feed event in raw.carrier_events (what
    dbt reads), ``days_ago`` days before now; ``sample`` narrows the events copied."""
    from waybill.load.carrier_events import COLUMNS

    names = [name for name, _ in COLUMNS]
    values = [f"{name} || '-R{replica}'" if name in RENAMED else name for name in names]
    tables = ", ".join(f"'{table}'" for table in CARRIER_TABLES)
    return (
        f"insert into raw.carrier_events ({', '.join(names)}, loaded_at)"
        f" select {', '.join(values)}, clock_timestamp() - interval '1 day' * {days_ago}"
        f" from raw.carrier_events where event_id not like '%-R%'"
        f" and raw_table in ({tables}){sample}"
    )


def _event_count(conn) -> int:
    tables = list(CARRIER_TABLES)
    row = conn.execute(
        "select count(*) from raw.carrier_events where raw_table = any(%s)", (tables,)
    ).fetchone()
    return row[0]


LAND_CHILD = """
import os, sys
from pathlib import Path
from waybill_sandbox.server import running_sandbox
from waybill.demo import sandbox_connections
from waybill.ingest import ingest_entity
from waybill.sources import load_sources

seed, shipments, token, inbound = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
with running_sandbox(seed=seed, shipments=shipments, erp_token=token, inbound=inbound) as base_url:
    os.environ.update(sandbox_connections(base_url, token))
    for source in load_sources().values():
        for entity in source.entities:
            ingest_entity(source.name, entity, run_id="bench_transform")
"""


def _land_world(bench_url: str, inbound: Path) -> None:
    """Land the sandbox world through the ingestion code into the bench database (a child process,
    so that its warehouse is the bench database from the start)."""

    env = {**os.environ, "WAREHOUSE_URL": bench_url, "WAYBILL_INBOUND_DIR": str(inbound)}
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            LAND_CHILD,
            str(SEED),
            str(SHIPMENTS),
            TOKEN,
            str(inbound),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"landing the bench world failed:\n{completed.stderr[-4000:]}")


def _dbt_build(env: dict[str, str], *extra: str) -> float:
    """Run ``dbt build`` in the project; return its wall time in seconds (raises on failure)."""
    from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

    started = time.perf_counter()
    completed = subprocess.run(
        [DBT_EXECUTABLE, "build", "--quiet", *extra],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"dbt build failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}"
        )
    _print_slowest(DBT_PROJECT_DIR / "target" / "run_results.json")
    return seconds


def _print_slowest(run_results: Path, count: int = 8) -> None:
    """Print the build's slowest nodes (where the time went), from dbt's run_results.json."""
    import json

    nodes = json.loads(run_results.read_text())["results"]
    for node in sorted(nodes, key=lambda n: n["execution_time"], reverse=True)[:count]:
        print(f"     {node['execution_time']:6.1f} s  {node['unique_id']}")


def run(results: dict) -> None:
    """Measure the full and the incremental build; write the figures into ``results``."""
    import psycopg
    from psycopg import sql

    from waybill import warehouse
    from waybill.load.schema import ensure_ops_schema

    location = warehouse.location()
    with psycopg.connect(location.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    bench_url = location.url("postgresql", database=DATABASE)

    with tempfile.TemporaryDirectory() as tmp:
        _land_world(bench_url, Path(tmp) / "inbound")

    with psycopg.connect(location.conninfo(DATABASE), autocommit=True) as conn:
        ensure_ops_schema(conn)
        base = _event_count(conn)
        replicas = max(0, math.ceil(EVENTS / base) - 1) if base else 0
        for replica in range(1, replicas + 1):
            conn.execute(_replicate_sql(replica, HISTORY_DAYS * replica / replicas))
        conn.execute("vacuum analyze")
        events = _event_count(conn)
        print(f"   {events} tracking events ({base} landed from the sandbox, {replicas} replicas)")

        env = {**os.environ, "WAREHOUSE_DBNAME": DATABASE}
        full_s = _dbt_build(env, "--full-refresh")

        # 1 % more events, landed after the full build: a replica slice under new identifiers.
        more = max(1, events // 100)
        extra = [replicas + 1 + n for n in range(max(1, round(more / base)))]
        # Below one whole replica, every k-th landed event of one replica makes up the 1 %.
        sample = "" if more >= base else f" and raw_id % {max(1, base // more)} = 0"
        for replica in extra:
            conn.execute(_replicate_sql(replica, 0, sample))
        added = _event_count(conn) - events
        incremental_s = _dbt_build(env)
        noop_s = _dbt_build(env)
        print(
            f"   full {full_s:.1f} s; incremental after {added} more events {incremental_s:.1f} s;"
            f" with nothing new {noop_s:.1f} s"
        )

    results["transform.tracking_events"] = events
    results["transform.full_build_s"] = round(full_s, 2)
    results["transform.incremental_build_s"] = round(incremental_s, 2)
    results["transform.incremental_vs_full"] = round(incremental_s / full_s, 3)
    results["transform.noop_build_s"] = round(noop_s, 2)
    results["transform.noop_vs_full"] = round(noop_s / full_s, 3)
