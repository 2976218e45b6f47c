"""CRM sync figures: reverse-ETL throughput against the CRM's rate limit, and exception → case
latency.

``crm.sync_records_per_s``: records (status updates and cases) the sync has acknowledged per
second while sending, over a first full sync of SHIPMENTS shipments, each with a status and a
case: the records of every batch after the first / the time from the first batch recorded to the
last (the steady state the rate limit governs). ``crm.sync_full_run_s``: the whole run, with
reading the marts and the sync state before the first send.
``crm.sync_rate_vs_limit``: that rate / the CRM's limit (the sandbox CRM enforces
``RATE_LIMIT`` records per second with 429s; the sync paces itself to the same figure from its
connection). Goal ≥ 0.9.
``crm.exception_to_case_latency_s``: one shipment's exception appears in the marts → the sync run
that follows has its case accepted by the CRM (wall time of that run; median of 5).

Runs in a database of its own (``waybill_bench_crm``) on hand-made marts tables of the columns
``sync_crm`` reads, so the figures measure the sync and the CRM, not the transform.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager

from benchmarks.bench_billing import _restore

BENCH_DATABASE = "waybill_bench_crm"
SHIPMENTS = 1500
RATE_LIMIT = 200.0
MARTS_DDL = """
create schema if not exists marts;
create schema if not exists staging;
create table marts.fct_shipments (
    shipment_id text, order_number text, customer_id text, shipped_at timestamptz,
    delivered_at timestamptz, promised_delivery_at timestamptz, has_damage boolean,
    is_lost boolean
);
create view marts.fct_customer_shipment_status as
select shipment_id, order_number, customer_id,
    case when delivered_at is not null then 'delivered' when is_lost then 'lost'
        when shipped_at is not null then 'in_transit' else 'processing' end
        as customer_visible_status
from marts.fct_shipments;
create table marts.fct_shipment_to_invoice (shipment_id text, hold_reasons text[]);
create table marts.fct_shipment_milestones (
    shipment_id text, milestone text, is_exception boolean, event_at timestamptz
);
create table staging.stg_erp__disputes (
    dispute_id text, shipment_ids jsonb, reason_code text, disputed_amount numeric,
    currency text, raised_at timestamptz, dispute_status text
);
"""


@contextmanager
def _own_database():
    """Point the warehouse at a fresh ``waybill_bench_crm`` database for the duration."""
    import psycopg
    from psycopg import sql

    from waybill import warehouse

    server = warehouse.location()
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
        name = sql.Identifier(BENCH_DATABASE)
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(name))
        conn.execute(sql.SQL("create database {}").format(name))
    saved = {name: os.environ.get(name) for name in ("WAREHOUSE_URL", "WAREHOUSE_DBNAME")}
    os.environ["WAREHOUSE_URL"] = server.url("postgresql", database=BENCH_DATABASE)
    os.environ["WAREHOUSE_DBNAME"] = BENCH_DATABASE
    warehouse.location.cache_clear()
    try:
        yield
    finally:
        _restore(saved)
        warehouse.location.cache_clear()


def _marts() -> None:
    """Fill the marts: every shipment delivered a day late (a status and a delay case each)."""
    from waybill import warehouse

    with warehouse.connect(autocommit=True) as conn:
        conn.execute(MARTS_DDL)
        conn.execute(
            """
            insert into marts.fct_shipments
            select 's' || n, 'SO-' || (1000000 + n), 'C0001', '2025-01-01T00:00:00Z',
                '2025-01-04T00:00:00Z', '2025-01-03T00:00:00Z', false, false
            from generate_series(1, %s) as n
            """,
            (SHIPMENTS,),
        )
        conn.execute(
            "insert into marts.fct_shipment_to_invoice"
            " select shipment_id, '{}'::text[] from marts.fct_shipments"
        )


def run(results: dict) -> None:
    """Record ``crm.sync_records_per_s``, ``crm.sync_rate_vs_limit``, ``crm.sync_full_run_s`` and
    ``crm.exception_to_case_latency_s`` in ``results``."""
    from waybill import warehouse
    from waybill.crm.client import sandbox_crm_connection
    from waybill.crm.sync import run_sync
    from waybill_sandbox.server import running_sandbox

    saved = {"AIRFLOW_CONN_CRM_API": os.environ.get("AIRFLOW_CONN_CRM_API")}
    with (
        _own_database(),
        running_sandbox(seed=7, shipments=60, crm_rate_limit=RATE_LIMIT) as base,
    ):
        try:
            os.environ.update(sandbox_crm_connection(base, rate_limit_per_s=RATE_LIMIT))
            _marts()
            batches: list[tuple[float, int]] = []
            started = time.monotonic()
            first = run_sync(
                "bench-full", on_batch=lambda _obj, n: batches.append((time.monotonic(), n))
            )
            elapsed = time.monotonic() - started
            acknowledged = int(first["acknowledged"])
            sending = batches[-1][0] - batches[0][0]
            rate = sum(n for _, n in batches[1:]) / sending
            print(
                f"   {acknowledged} records acknowledged in {elapsed:.1f} s, "
                f"{len(batches)} batches sent in {sending:.1f} s after the first ({rate:.0f}/s)"
            )
            results["crm.sync_records_per_s"] = round(rate, 1)
            results["crm.sync_full_run_s"] = round(elapsed, 2)
            results["crm.sync_rate_vs_limit"] = round(rate / RATE_LIMIT, 3)
            latencies = []
            for n in range(5):
                with warehouse.connect(autocommit=True) as conn:
                    conn.execute(
                        "update marts.fct_shipment_to_invoice set hold_reasons = '{credit_hold}'"
                        " where shipment_id = %s",
                        (f"s{n + 1}",),
                    )
                started = time.monotonic()
                counts = run_sync(f"bench-latency-{n}")
                latencies.append(time.monotonic() - started)
                assert counts["acknowledged"] == 1, counts
            results["crm.exception_to_case_latency_s"] = round(statistics.median(latencies), 3)
            print(f"   exception → case: {', '.join(f'{x:.2f}' for x in latencies)} s")
        finally:
            _restore(saved)
