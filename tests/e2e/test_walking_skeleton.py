"""The pipeline end to end through Airflow: sandbox → ingest DAGs → raw → dbt (cosmos) → GX gate → ERP.

Real parts only: the embedded Postgres, the sandbox over loopback HTTP and its file feeds, DAG runs
via ``dag.test()``. The marts are checked against the sandbox's truth for the same seed.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from decimal import Decimal

import pytest
import requests

from waybill import warehouse
from waybill.demo import sandbox_connections
from waybill.orchestration.runner import run_dag

pytestmark = pytest.mark.e2e

TOKEN = "skeleton-test-token"
INGEST_DAGS = ("ingest_erp", "ingest_wms", "ingest_tms", "ingest_carriers")
# What billing reads and what it made, to compare before and after a backfill.
MARTS_SNAPSHOT = """
    select to_jsonb(s), to_jsonb(i)
    from marts.fct_shipment_to_invoice as s
    left join marts.fct_invoices as i on s.invoice_id = i.invoice_id
    order by s.shipment_id
"""


def _sandbox(monkeypatch, tmp_path, seed: int, shipments: int, faults: float):
    """Start the sandbox, point every connection at it, return (context manager, truth)."""
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    buffer = io.StringIO()
    write_truth(World(seed, shipments), buffer, FaultConfig.parse(faults) if faults else None)
    truth = json.loads(buffer.getvalue())
    inbound = tmp_path / "inbound"
    server = running_sandbox(
        seed=seed, shipments=shipments, faults=faults, erp_token=TOKEN, inbound=inbound
    )
    base_url = server.__enter__()
    for name, value in sandbox_connections(base_url, TOKEN).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
    return server, base_url, truth


@pytest.fixture
def sandbox(monkeypatch, tmp_path):
    server, base_url, truth = _sandbox(monkeypatch, tmp_path, seed=7, shipments=60, faults=0.0)
    try:
        yield base_url, truth
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def faulty_sandbox(monkeypatch, tmp_path):
    server, base_url, truth = _sandbox(monkeypatch, tmp_path, seed=11, shipments=60, faults=0.1)
    try:
        yield base_url, truth
    finally:
        server.__exit__(None, None, None)


def _erp_invoices(base_url: str) -> list[dict]:
    response = requests.get(
        f"{base_url}/erp/invoices", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    body = response.json()
    return body["data"] if isinstance(body, dict) else body


def _rows(query: str) -> list[tuple]:
    with warehouse.connect() as conn:
        return conn.execute(query).fetchall()


def _count(query: str) -> int:
    return _rows(query)[0][0]


def _run_transform_and_check_tasks() -> None:
    """Run ``transform_warehouse``; every dbt task (the build, each model, seed and snapshot, each
    model's tests) must succeed."""
    run = run_dag("transform_warehouse", retries=False)
    assert run.state == "success"
    from airflow.utils.session import create_session

    with create_session() as session:
        states = {ti.task_id: ti.state for ti in run.get_task_instances(session=session)}
    dbt_tasks = {task_id: state for task_id, state in states.items() if task_id.startswith("dbt.")}
    assert {"dbt.fct_shipments.run", "dbt.fct_shipments.test", "dbt.kpi_daily.run"} <= set(
        dbt_tasks
    ), sorted(states)
    assert any(task_id.startswith("dbt.snp_erp__rate_cards") for task_id in dbt_tasks), sorted(
        states
    )
    assert {task_id for task_id, state in dbt_tasks.items() if state != "success"} == set()


def _marts() -> dict[str, dict]:
    rows = _rows(
        """
        select
            s.order_number, s.carrier_code, s.delivered_at is not null, s.is_on_time,
            s.is_in_full, s.is_otif, i.billing_status, i.hold_reasons,
            i.billable_amount, i.currency, s.match_status
        from marts.fct_shipments as s
        inner join marts.fct_shipment_to_invoice as i using (shipment_id)
        """
    )
    keys = [
        "carrier_code",
        "delivered",
        "is_on_time",
        "is_in_full",
        "is_otif",
        "billing_status",
        "hold_reasons",
        "billable_amount",
        "currency",
        "match_status",
    ]
    return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}


def _pct(flags: list[bool]) -> float:
    return 100.0 * sum(flags) / len(flags) if flags else 0.0


def _touched_by_faults(truth: dict) -> set[str]:
    """Order numbers of shipments one of whose records the sandbox made malformed."""
    keys = {entry["record"].split("/")[1] for entry in truth["malformed"]}
    touched = set()
    for s in truth["shipments"]:
        ids = {
            s["order_number"],
            s["wms_shipment_id"],
            s["tms_shipment_id"],
            s["load_id"],
            s["tracking_number"],
        }
        charge_prefixes = {key.rsplit("-", 1)[0] for key in keys if "-" in key}
        if ids & keys or s["tms_shipment_id"] in charge_prefixes:
            touched.add(s["order_number"])
    return touched


def _assert_marts_agree_with_truth(truth: dict, touched: set[str]) -> None:
    marts = _marts()
    # Nothing lost between fct_shipments and fct_shipment_to_invoice; every shipment is there.
    assert _count("select count(*) from marts.fct_shipments") == _count(
        "select count(*) from marts.fct_shipment_to_invoice"
    )
    assert {s["order_number"] for s in truth["shipments"]} <= set(marts)
    for order_number, row in marts.items():
        if order_number in touched:
            assert row["match_status"] is not None

    by_carrier: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    compared = 0
    for s in truth["shipments"]:
        if s["order_number"] in touched:
            continue
        row = marts[s["order_number"]]
        assert row["delivered"] == (s["delivered_at"] is not None), s["order_number"]
        assert row["is_in_full"] == s["is_in_full"], s["order_number"]
        if s["delivered_at"] is not None:
            for side, value in (
                ("truth_on_time", s["is_on_time"]),
                ("mart_on_time", row["is_on_time"]),
                ("truth_otif", s["is_otif"]),
                ("mart_otif", row["is_otif"]),
            ):
                by_carrier[s["carrier_code"]][side].append(bool(value))
            assert list(row["hold_reasons"]) == s["hold_reasons"], s["order_number"]
        if s["billable"] and row["billing_status"] in ("ready", "invoiced"):
            compared += 1
            assert row["billable_amount"] == Decimal(s["billable_amount"]), s["order_number"]
            assert row["currency"] == s["currency"]
        if not s["billable"]:
            assert row["billing_status"] not in ("ready", "invoiced"), s["order_number"]
    assert compared > 0
    for carrier, sides in by_carrier.items():
        assert abs(_pct(sides["mart_on_time"]) - _pct(sides["truth_on_time"])) <= 0.5, carrier
        assert abs(_pct(sides["mart_otif"]) - _pct(sides["truth_otif"])) <= 0.5, carrier
        if not touched:
            assert (
                abs(_pct(sides["mart_on_time"]) - truth["carriers"][carrier]["on_time_pct"]) <= 0.5
            )
            assert abs(_pct(sides["mart_otif"]) - truth["carriers"][carrier]["otif_pct"]) <= 0.5

    # Freight audit: each shipment's carrier invoice variance equals the truth's.
    audit = dict(
        _rows(
            "select order_number, min(shipment_invoice_variance) from marts.fct_freight_audit"
            " group by order_number"
        )
    )
    invoiced = [
        s
        for s in truth["shipments"]
        if s.get("carrier_invoiced") is not None and s["order_number"] not in touched
    ]
    assert invoiced
    for s in invoiced:
        assert audit[s["order_number"]] == Decimal(s["carrier_invoice_variance"]), s["order_number"]


def test_pipeline_runs_end_to_end_agrees_with_truth_and_is_idempotent(
    clean_warehouse, airflow_db, sandbox
):
    base_url, truth = sandbox
    for dag_id in INGEST_DAGS:
        assert run_dag(dag_id, retries=False).state == "success"
    _run_transform_and_check_tasks()
    _assert_marts_agree_with_truth(truth, touched=set())
    assert run_dag("post_billing", retries=False).state == "success"

    ready = _count("select count(*) from marts.fct_invoices where billing_status = 'ready'")
    assert ready > 0
    posted = _erp_invoices(base_url)
    assert len(posted) == _count("select count(*) from ops.billing_outbox where status = 'posted'")
    assert all(invoice["times_posted"] == 1 for invoice in posted)

    # Rerun: posted invoices show as invoiced, nothing is billed twice.
    for dag_id in ("transform_warehouse", "post_billing"):
        assert run_dag(dag_id, retries=False).state == "success"
    invoiced = _count(
        "select count(*) from marts.fct_shipment_to_invoice where billing_status = 'invoiced'"
    )
    assert invoiced == len(posted)
    again = _erp_invoices(base_url)
    assert len(again) == len(posted)
    assert all(invoice["times_posted"] == 1 for invoice in again)

    # Backfill every day of the ERP's orders after billing ran: nothing lands twice, the
    # transform the backfill triggers rebuilds the same marts, and the ERP receives nothing.
    marts_before = _rows(MARTS_SNAPSHOT)
    raw_before = _count("select count(*) from raw.erp__orders")
    first, last = _rows(
        "select min(d), max(d) from (select ((payload ->> 'updated_at')::timestamptz"
        " at time zone 'UTC')::date as d from raw.erp__orders) as days"
    )[0]
    conf = {"source": "erp", "entity": "orders", "from": str(first), "to": str(last)}
    backfill = run_dag("backfill_source", conf=conf, retries=False)
    landed, duplicate = _rows(
        "select sum(records_landed), sum(records_duplicate) from ops.load_batches"
        f" where run_id = '{backfill.run_id}'"
    )[0]
    assert (landed, duplicate) == (0, raw_before)
    for dag_id in ("transform_warehouse", "post_billing"):
        assert run_dag(dag_id, retries=False).state == "success"
    assert _count("select count(*) from raw.erp__orders") == raw_before
    assert _rows(MARTS_SNAPSHOT) == marts_before
    assert _erp_invoices(base_url) == again


@pytest.mark.slow
def test_marts_agree_with_truth_under_faults(clean_warehouse, airflow_db, faulty_sandbox):
    _base_url, truth = faulty_sandbox
    # Truncated X12 files lose whole sets, which the truth does not attribute to shipments.
    assert truth["truncated_files"] == []
    for dag_id in INGEST_DAGS:
        assert run_dag(dag_id, retries=False).state == "success"
    _run_transform_and_check_tasks()
    _assert_marts_agree_with_truth(truth, touched=_touched_by_faults(truth))
