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

Scale option (``WAYBILL_BENCH_TRANSFORM_SCALE``, e.g. 10000000; off by default): one database
grown to a tenth of the scale and then to the scale, with at each a full build, an incremental
build after the same number of new events (1 % of the smaller scale) and a no-op build; figures
named after the scales (``transform.noop_10m_vs_1m``, ``transform.incremental_10m_vs_1m``,
``transform.incremental_vs_full_10m``, ``transform.land_events_per_s_10m`` …).
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
# The scale-pair option (not in `make bench`'s default): e.g. 10000000 measures 1M then 10M.
SCALE = int(os.environ.get("WAYBILL_BENCH_TRANSFORM_SCALE", "0"))
SHIPMENTS = int(os.environ.get("WAYBILL_BENCH_TRANSFORM_SHIPMENTS", "2000"))
SEED = 42
HISTORY_DAYS = 60
DATABASE = "waybill_bench"
TOKEN = "bench-transform-token"
CARRIER_TABLES = ("parcelco__tracking_events", "swiftex__tracking_events")
# The columns of raw.carrier_events a replica rewrites: `{replica}` makes the event id, tracking
# number, order reference and lineage key unique, so each replica is a new set of shipments.
RENAMED = ("event_id", "tracking_number", "shipper_reference", "raw_natural_key")


def _replicate_sql(replica: int, days_ago: float, sample: str = "", count: int = 1) -> str:
    """SQL landing ``count`` replicas (numbered from ``replica``) of every ParcelCo/SwiftEx feed
    event in raw.carrier_events (what dbt reads) in one set-based statement: with ``count`` 1,
    ``days_ago`` days before now, else spread from one to ``days_ago`` days back. ``sample``
    narrows the events copied."""
    from waybill.load.carrier_events import COLUMNS

    names = [name for name, _ in COLUMNS]
    values = [f"{name} || '-R' || replica" if name in RENAMED else name for name in names]
    tables = ", ".join(f"'{table}'" for table in CARRIER_TABLES)
    age = (
        f"{days_ago}"
        if count == 1
        else f"(1 + ({days_ago} - 1) * (replica - {replica} + 1) / {count}.0)"
    )
    return (
        f"insert into raw.carrier_events ({', '.join(names)}, loaded_at)"
        f" select {', '.join(values)}, clock_timestamp() - interval '1 day' * {age}"
        f" from raw.carrier_events"
        f" cross join generate_series({replica}, {replica + count - 1}) as replica"
        f" where event_id not like '%-R%'"
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


def _fresh_database(location) -> str:
    """Drop and recreate the bench database; return its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(location.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE))
        )
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    return location.url("postgresql", database=DATABASE)


def _grow(conn, base: int, first_replica: int, target: int) -> tuple[int, float]:
    """Land replicas from ``first_replica`` on until ``target`` events, each batch of replicas
    in one set-based statement spread over the history (a warehouse fills day after day);
    return the next free replica number and the landing rate (events/s, indexes included)."""
    have = _event_count(conn)
    replicas = max(0, math.ceil((target - have) / base)) if base else 0
    started = time.perf_counter()
    per_statement = max(1, 2_000_000 // max(base, 1))
    for first in range(0, replicas, per_statement):
        count = min(per_statement, replicas - first)
        conn.execute(_replicate_sql(first_replica + first, HISTORY_DAYS, count=count))
    seconds = time.perf_counter() - started
    landed = _event_count(conn) - have
    conn.execute("vacuum analyze")
    return first_replica + replicas, (landed / seconds if seconds else 0.0)


def _land_more(conn, base: int, replica: int, more: int) -> int:
    """Land ``more`` new events now (a sample of one replica, or whole replicas); return the
    next free replica number."""
    whole = max(1, round(more / base))
    sample = "" if more >= base else f" and raw_id % {max(1, base // more)} = 0"
    for n in range(whole):
        conn.execute(_replicate_sql(replica + n, 0, sample))
    return replica + whole


def _builds(conn, env: dict[str, str], base: int, replica: int, more: int) -> tuple[dict, int]:
    """Full build, ``more`` new events, incremental build, no-op build; their seconds."""
    full_s = _dbt_build(env, "--full-refresh")
    before = _event_count(conn)
    replica = _land_more(conn, base, replica, more)
    added = _event_count(conn) - before
    incremental_s = _dbt_build(env)
    noop_s = _dbt_build(env)
    print(
        f"   {before} events: full {full_s:.1f} s; incremental after {added} more"
        f" {incremental_s:.1f} s; with nothing new {noop_s:.1f} s",
        flush=True,
    )
    figures = {"full": full_s, "incremental": incremental_s, "noop": noop_s, "events": before}
    return figures, replica


def _scale_name(events: int) -> str:
    """``10m``, ``1m``, ``100k``: the scale in a figure's name."""
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}m"
    return f"{events // 1_000}k"


def _run_scale_pair(results: dict, large: int) -> None:
    """Measure at ``large // 10`` then ``large`` events (one database grown in place) with the
    same number of new events before each incremental build (1 % of the small scale)."""
    import psycopg

    from waybill import warehouse
    from waybill.load.schema import ensure_ops_schema

    small = large // 10
    location = warehouse.location()
    bench_url = _fresh_database(location)
    with tempfile.TemporaryDirectory() as tmp:
        _land_world(bench_url, Path(tmp) / "inbound")
    env = {**os.environ, "WAREHOUSE_DBNAME": DATABASE}
    more = max(1, small // 100)
    measured: dict[int, dict] = {}
    with psycopg.connect(location.conninfo(DATABASE), autocommit=True) as conn:
        ensure_ops_schema(conn)
        base = _event_count(conn)
        replica = 1
        for scale in (small, large):
            replica, rate = _grow(conn, base, replica, scale)
            print(f"   grew to {_event_count(conn)} events at {rate:,.0f} events/s", flush=True)
            measured[scale], replica = _builds(conn, env, base, replica, more)
            measured[scale]["land_per_s"] = rate
    big, little = _scale_name(large), _scale_name(small)
    for scale in (small, large):
        name, figures = _scale_name(scale), measured[scale]
        results[f"transform.events_{name}"] = figures["events"]
        results[f"transform.land_events_per_s_{name}"] = round(figures["land_per_s"])
        for kind in ("full", "incremental", "noop"):
            results[f"transform.{kind}_build_s_{name}"] = round(figures[kind], 2)
    large_f, small_f = measured[large], measured[small]
    results[f"transform.noop_{big}_vs_{little}"] = round(large_f["noop"] / small_f["noop"], 3)
    results[f"transform.incremental_{big}_vs_{little}"] = round(
        large_f["incremental"] / small_f["incremental"], 3
    )
    results[f"transform.incremental_vs_full_{big}"] = round(
        large_f["incremental"] / large_f["full"], 3
    )


def run(results: dict) -> None:
    """Measure the full and the incremental build; write the figures into ``results``.

    With ``WAYBILL_BENCH_TRANSFORM_SCALE`` set (e.g. 10000000), measures the scale pair instead.
    """
    if SCALE:
        _run_scale_pair(results, SCALE)
        return
    import psycopg

    from waybill import warehouse
    from waybill.load.schema import ensure_ops_schema

    location = warehouse.location()
    bench_url = _fresh_database(location)
    with tempfile.TemporaryDirectory() as tmp:
        _land_world(bench_url, Path(tmp) / "inbound")
    env = {**os.environ, "WAREHOUSE_DBNAME": DATABASE}
    with psycopg.connect(location.conninfo(DATABASE), autocommit=True) as conn:
        ensure_ops_schema(conn)
        base = _event_count(conn)
        replica, _rate = _grow(conn, base, 1, EVENTS)
        print(f"   {_event_count(conn)} tracking events ({base} landed from the sandbox)")
        # 1 % more events, landed after the full build, under new identifiers.
        figures, _ = _builds(conn, env, base, replica, max(1, EVENTS // 100))

    full_s, incremental_s, noop_s = figures["full"], figures["incremental"], figures["noop"]
    results["transform.tracking_events"] = figures["events"]
    results["transform.full_build_s"] = round(full_s, 2)
    results["transform.incremental_build_s"] = round(incremental_s, 2)
    results["transform.incremental_vs_full"] = round(incremental_s / full_s, 3)
    results["transform.noop_build_s"] = round(noop_s, 2)
    results["transform.noop_vs_full"] = round(noop_s / full_s, 3)
