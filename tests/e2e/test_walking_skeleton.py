"""The walking skeleton, end to end through Airflow: sandbox ERP → raw → dbt → GX gate → ERP invoices.

Real parts only: the embedded Postgres, the sandbox over loopback HTTP, DAG runs via ``dag.test()``.
"""

from __future__ import annotations

import json

import pytest
import requests

from waybill import warehouse
from waybill.orchestration.runner import run_dag

pytestmark = pytest.mark.e2e

TOKEN = "skeleton-test-token"


@pytest.fixture
def sandbox_erp(monkeypatch):
    from waybill_sandbox.server import running_sandbox

    with running_sandbox(seed=7, shipments=30, erp_token=TOKEN) as base_url:
        monkeypatch.setenv(
            "AIRFLOW_CONN_ERP_API",
            json.dumps({"conn_type": "http", "host": f"{base_url}/erp", "password": TOKEN}),
        )
        yield base_url


def _orders_in_erp(base_url: str) -> set[str]:
    """Page through the ERP's orders independently of the connector under test."""
    numbers: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = requests.get(
            f"{base_url}/erp/orders",
            params=params,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ).json()
        numbers |= {order["order_number"] for order in body["data"]}
        cursor = body.get("next_cursor")
        if not cursor:
            return numbers


def _erp_invoices(base_url: str) -> list[dict]:
    response = requests.get(
        f"{base_url}/erp/invoices", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    body = response.json()
    return body["data"] if isinstance(body, dict) else body


def _count(query: str) -> int:
    with warehouse.connect() as conn:
        return conn.execute(query).fetchone()[0]


def test_skeleton_runs_end_to_end_and_is_idempotent(clean_warehouse, airflow_db, sandbox_erp):
    expected_orders = _orders_in_erp(sandbox_erp)

    for dag_id in ("ingest_erp", "transform_warehouse", "post_billing"):
        assert run_dag(dag_id, retries=False).state == "success"

    landed = _count("select count(distinct natural_key) from raw.erp__orders")
    dead = _count("select count(*) from ops.dead_letters where source = 'erp'")
    assert landed + dead == len(expected_orders)
    assert _count("select count(*) from staging.stg_erp__orders") == landed
    invoices = _count("select count(distinct invoice_id) from marts.fct_invoice_lines")
    assert invoices == landed
    assert _count("select count(*) from ops.billing_outbox where status = 'posted'") == invoices

    posted = _erp_invoices(sandbox_erp)
    assert len(posted) == invoices
    assert all(invoice["times_posted"] == 1 for invoice in posted)

    # Rerun everything: nothing new lands, nothing is billed twice.
    raw_rows = _count("select count(*) from raw.erp__orders")
    for dag_id in ("ingest_erp", "transform_warehouse", "post_billing"):
        assert run_dag(dag_id, retries=False).state == "success"
    assert _count("select count(*) from raw.erp__orders") == raw_rows
    again = _erp_invoices(sandbox_erp)
    assert len(again) == invoices
    assert all(invoice["times_posted"] == 1 for invoice in again)
