"""Billing test fixtures: scratch invoice marts, a sandbox ERP wired as the ``erp_api`` connection."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest
import requests

from tests.expectations.conftest import gx_context, scratch_schema  # noqa: F401 - fixtures
from waybill import warehouse

TOKEN = "billing-test-token"


@contextmanager
def erp_sandbox(monkeypatch, **kwargs):
    """Serve a sandbox and point the ``erp_api`` connection at its ERP; yields the base URL."""
    from waybill_sandbox.server import running_sandbox

    with running_sandbox(seed=11, shipments=30, erp_token=TOKEN, **kwargs) as base_url:
        monkeypatch.setenv(
            "AIRFLOW_CONN_ERP_API",
            json.dumps({"conn_type": "http", "host": f"{base_url}/erp", "password": TOKEN}),
        )
        yield base_url


@pytest.fixture
def sandbox(monkeypatch):
    """A fault-free sandbox ERP (base URL)."""
    with erp_sandbox(monkeypatch) as base_url:
        yield base_url


def erp_get(base_url: str, path: str) -> list[dict]:
    """GET an ERP list endpoint independently of the code under test."""
    for _attempt in range(6):  # the sandbox's faults hit a request key at most twice in a row
        response = requests.get(
            f"{base_url}/erp/{path}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        if response.status_code not in (429, 500, 503):
            break
    response.raise_for_status()
    body = response.json()
    return body["data"] if isinstance(body, dict) else body


@pytest.fixture
def outbox_cleanup():
    """Yields a list; every invoice-id prefix appended is removed from the billing tables after."""
    prefixes: list[str] = []
    yield prefixes
    with warehouse.connect(autocommit=True) as conn:
        for prefix in prefixes:
            for table in (
                "billing_outbox",
                "billing_holds",
                "reconciliation",
                "billing_document_events",
            ):
                conn.execute(
                    f"delete from ops.{table} where invoice_id like %s",
                    (f"{prefix}%",),
                )


@pytest.fixture(autouse=True)
def build_dir(tmp_path, monkeypatch):
    """Reports and gate summaries go to a temporary build folder."""
    folder = tmp_path / "build"
    monkeypatch.setenv("WAYBILL_BUILD_DIR", str(folder))
    return folder


E2E_DATABASE = "waybill_billing_e2e"


@pytest.fixture
def own_warehouse():
    """Point the warehouse (``WAREHOUSE_URL``, dbt's ``WAREHOUSE_DBNAME``) at a database of our own.

    Other engineers' end-to-end tests drop the shared schemas of the test warehouse while they
    run; this one builds and bills a whole world, so it works in its own database on the same
    server, created here if missing and left in place.
    """
    import psycopg
    from psycopg import sql

    server = warehouse.location()
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (E2E_DATABASE,))
        if not exists.fetchone():
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(E2E_DATABASE)))
    saved = {name: os.environ.get(name) for name in ("WAREHOUSE_URL", "WAREHOUSE_DBNAME")}
    os.environ["WAREHOUSE_URL"] = server.url("postgresql", database=E2E_DATABASE)
    os.environ["WAREHOUSE_DBNAME"] = E2E_DATABASE
    warehouse.location.cache_clear()
    try:
        yield E2E_DATABASE
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        warehouse.location.cache_clear()
