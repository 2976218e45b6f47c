"""Loader tests write to raw tables of their own (a unique source name per test), never shared ones."""

from __future__ import annotations

import uuid

import pytest

from waybill import warehouse
from waybill.load.schema import ensure_ops_schema


@pytest.fixture
def conn():
    """A warehouse connection with the ops schema in place."""
    with warehouse.connect() as connection:
        ensure_ops_schema(connection)
        yield connection


@pytest.fixture
def own_source(conn):
    """A source name no other test uses; its raw tables and ops rows are removed afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    conn.rollback()
    with conn.transaction():
        tables = conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'raw' and table_name like %s",
            (f"{name}\\_\\_%",),
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'drop table raw."{table}"')
        for ops in ("dead_letters", "load_batches", "watermarks"):
            conn.execute(f"delete from ops.{ops} where source = %s", (name,))
