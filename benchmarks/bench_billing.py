"""Billing figures: posting throughput against the ERP's rate limit, amendment latency, and the
gate's share of a run.

``billing.post_rate_vs_limit``: ERP documents posted per second / the ERP's configured limit
(``erp.rate_limit_per_s`` in sources.yaml; the sandbox ERP enforces the same limit with 429s),
over a mix: first invoices of new shipments, and credit notes plus replacement invoices of a
third of the already posted ones whose amounts changed. Goal ≥ 0.9.
``billing.amend_latency_s``: one posted invoice's amount changes → the planner queues its credit
note and replacement and the poster has both accepted by the ERP, in one run (median of 5).
``billing.gate_share``: the GX gate's run time / the whole ``post_billing`` run, on a sandbox
world ingested and transformed through Airflow.

Runs in a database of its own (``waybill_bench_billing`` on the same server), so neither the
outbox nor the marts of the warehouse being benchmarked are touched.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

BENCH_DATABASE = "waybill_bench_billing"
INVOICES = 600
SHIPMENTS = 300
TOKEN = "bench-erp-token"


@contextmanager
def _own_database():
    import psycopg
    from psycopg import sql

    from waybill import warehouse

    server = warehouse.location()
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(BENCH_DATABASE)
            )
        )
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(BENCH_DATABASE)))
    saved = {name: os.environ.get(name) for name in ("WAREHOUSE_URL", "WAREHOUSE_DBNAME")}
    os.environ["WAREHOUSE_URL"] = server.url("postgresql", database=BENCH_DATABASE)
    os.environ["WAREHOUSE_DBNAME"] = BENCH_DATABASE
    warehouse.location.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        warehouse.location.cache_clear()


def _point_connections_at(base_url: str) -> dict[str, str | None]:
    from waybill.demo import SANDBOX_PREFIXES

    saved = {}
    for conn_id, prefix in SANDBOX_PREFIXES.items():
        name = f"AIRFLOW_CONN_{conn_id.upper()}"
        saved[name] = os.environ.get(name)
        spec = {"conn_type": "http", "host": f"{base_url}/{prefix}"}
        if conn_id == "erp_api":
            spec["password"] = TOKEN
        if conn_id == "crm_api":  # ingest_crm runs with the other systems
            spec["password"] = "sandbox-crm-secret"
        os.environ[name] = json.dumps(spec)
    return saved


def _restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


LINES_TABLE = "public.bench_invoice_lines"


def _customers(url: str) -> list[dict]:
    """The sandbox ERP's customers (one page holds them all)."""
    import requests

    response = requests.get(
        f"{url}/erp/customers", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()["data"]


def _lines(conn, customers: list[dict], threads: range, bump: set[int]) -> None:
    """(Re)write the scratch mart: one two-line invoice per thread; ``bump`` ones cost more."""
    conn.execute(f"drop table if exists {LINES_TABLE}")
    conn.execute(
        f"create table {LINES_TABLE} (invoice_id text, invoice_line_number integer,"
        " shipment_id text, order_number text, customer_id text, currency text,"
        " invoice_date date, charge_code text, description text, amount numeric(14, 2))"
    )
    with conn.cursor() as cur, cur.copy(f"copy {LINES_TABLE} from stdin") as copy:
        for i in threads:
            customer = customers[i % len(customers)]
            base = 100 + i % 50 + (25 if i in bump else 0)
            for n, (code, amount) in enumerate((("LINEHAUL", base), ("FUEL", 12)), start=1):
                copy.write_row(
                    (
                        f"INV-BENCH-{i:06d}",
                        n,
                        f"SH-{i}",
                        f"SO-{i}",
                        customer["customer_id"],
                        customer["currency"],
                        "2025-01-20",
                        code,
                        code.title(),
                        f"{amount}.00",
                    )
                )


def _plan(run_id: str) -> int:
    from waybill import warehouse
    from waybill.billing.documents import billing_lock, plan_documents

    with warehouse.connect() as conn, conn.transaction():
        billing_lock(conn)
        return len(plan_documents(conn, run_id, lines_table=LINES_TABLE).new)


def _amendments(limit: float) -> tuple[float, float]:
    """(post rate / limit over a mixed batch, median amendment latency in seconds)."""
    import statistics
    import time

    from waybill import warehouse
    from waybill.billing.run import post_invoices
    from waybill.load.schema import ensure_ops_schema
    from waybill_sandbox.server import running_sandbox

    with running_sandbox(seed=42, shipments=30, erp_token=TOKEN, erp_rate_limit=limit) as url:
        saved = _point_connections_at(url)
        try:
            customers = _customers(url)
            with warehouse.connect() as conn:
                ensure_ops_schema(conn)
                _lines(conn, customers, range(INVOICES // 2), set())
                conn.commit()
            _plan("bench-first")
            post_invoices("bench-first")
            # The mix: a third of the posted change amount (credit note + replacement each),
            # and as many new shipments arrive (first invoices).
            changed = set(range(0, INVOICES // 2, 3))
            with warehouse.connect() as conn:
                _lines(conn, customers, range(INVOICES // 2 + len(changed)), changed)
                conn.commit()
            queued = _plan("bench-mix")
            summary = post_invoices("bench-mix")
            rate = summary["posted"] / summary["seconds"]
            if summary["posted"] != queued:
                raise RuntimeError(f"posted {summary['posted']} of {queued}: {summary}")
            print(
                f"   posted {queued} documents (first invoices, credit notes, replacements)"
                f" in {summary['seconds']:.1f} s: {rate:.1f}/s (limit {limit:g}/s)"
            )
            latencies = []
            for attempt in range(5):
                bump = {1} if attempt % 2 == 0 else set()  # thread 1 is not in `changed`
                with warehouse.connect() as conn:
                    _lines(conn, customers, range(INVOICES // 2 + len(changed)), changed | bump)
                    conn.commit()
                started = time.monotonic()
                planned = _plan(f"bench-amend-{attempt}")
                posted = post_invoices(f"bench-amend-{attempt}")["posted"]
                latencies.append(time.monotonic() - started)
                if (planned, posted) != (2, 2):
                    raise RuntimeError(f"amendment {attempt}: planned {planned}, posted {posted}")
            latency = statistics.median(latencies)
            print(f"   amendment (credit note + replacement accepted): median {latency:.3f} s")
        finally:
            _restore(saved)
    return rate / limit, latency


def _post_rate(limit: float) -> float:
    """Queue ``INVOICES`` valid invoices and post them to a sandbox ERP limited to ``limit``/s."""

    from waybill import warehouse
    from waybill.billing.invoices import body_sha256, invoice_body
    from waybill.billing.run import post_invoices
    from waybill.load.schema import ensure_ops_schema
    from waybill_sandbox.server import running_sandbox

    with running_sandbox(seed=42, shipments=30, erp_token=TOKEN, erp_rate_limit=limit) as url:
        saved = _point_connections_at(url)
        try:
            customers = _customers(url)
            with warehouse.connect() as conn:
                ensure_ops_schema(conn)
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        "copy ops.billing_outbox (invoice_id, version, idempotency_key, customer_id,"
                        " currency, total_amount, body, body_sha256) from stdin"
                    ) as copy,
                ):
                    for i in range(INVOICES):
                        customer = customers[i % len(customers)]
                        invoice_id = f"INV-BENCH-{i:06d}"
                        lines = [
                            {
                                "line_number": 1,
                                "shipment_reference": f"SO-{i}",
                                "charge_code": "LINEHAUL",
                                "description": "Linehaul",
                                "amount": f"{100 + i % 50}.00",
                            }
                        ]
                        body = invoice_body(
                            invoice_id,
                            customer["customer_id"],
                            customer["currency"],
                            "2025-01-20",
                            lines,
                        )
                        copy.write_row(
                            (
                                invoice_id,
                                1,
                                f"waybill:{invoice_id}:v1",
                                customer["customer_id"],
                                customer["currency"],
                                body["total_amount"],
                                json.dumps(body),
                                body_sha256(body),
                            )
                        )
                conn.commit()
            summary = post_invoices()
            seconds = summary["seconds"]  # first send to last answer recorded
        finally:
            _restore(saved)
    if summary["posted"] != INVOICES:
        raise RuntimeError(f"posted {summary['posted']} of {INVOICES}: {summary}")
    rate = INVOICES / seconds
    print(f"   posted {INVOICES} invoices in {seconds:.1f} s: {rate:.1f}/s (limit {limit:g}/s)")
    return rate / limit


def _gate_share(tmp: str) -> float:
    """Ingest and transform a sandbox world, run post_billing; return gate time / run time."""
    from waybill import warehouse
    from waybill.orchestration.runner import ensure_airflow_db, run_dag
    from waybill.sources import get_source, systems
    from waybill_sandbox.server import running_sandbox

    ensure_airflow_db()
    limit = get_source("erp").rate_limit_per_s
    os.environ["WAYBILL_INBOUND_DIR"] = f"{tmp}/inbound"
    os.environ["WAYBILL_BUILD_DIR"] = f"{tmp}/build"
    with running_sandbox(
        seed=42,
        shipments=SHIPMENTS,
        erp_token=TOKEN,
        erp_rate_limit=limit,
        inbound=Path(tmp) / "inbound",
    ) as url:
        saved = _point_connections_at(url)
        try:
            for dag_id in [f"ingest_{name}" for name in systems()] + ["transform_warehouse"]:
                run_dag(dag_id, retries=False)
            dag_run = run_dag("post_billing", retries=False)
        finally:
            _restore(saved)
    with warehouse.connect() as conn:
        gate_seconds, posted = conn.execute(
            "select gate_seconds, invoices_posted from ops.billing_runs where run_id = %s",
            (dag_run.run_id,),
        ).fetchone()
    total = (dag_run.end_date - dag_run.start_date).total_seconds()
    print(f"   post_billing: {total:.1f} s, gate {gate_seconds:.1f} s, {posted} invoices posted")
    return gate_seconds / total


def run(results: dict) -> None:
    """Record ``billing.post_rate_vs_limit``, ``billing.first_post_rate_vs_limit``,
    ``billing.amend_latency_s`` and ``billing.gate_share`` in ``results``."""
    import tempfile

    from waybill.sources import get_source

    saved = {k: os.environ.get(k) for k in ("WAYBILL_INBOUND_DIR", "WAYBILL_BUILD_DIR")}
    with _own_database(), tempfile.TemporaryDirectory(prefix="waybill-bench-billing-") as tmp:
        Path(tmp, "inbound").mkdir()
        try:
            limit = get_source("erp").rate_limit_per_s
            results["billing.first_post_rate_vs_limit"] = round(_post_rate(limit), 3)
            mixed, latency = _amendments(limit)
            results["billing.post_rate_vs_limit"] = round(mixed, 3)
            results["billing.amend_latency_s"] = round(latency, 3)
            results["billing.gate_share"] = round(_gate_share(tmp), 3)
        finally:
            _restore(saved)
