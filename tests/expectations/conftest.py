"""Scratch schemas in the test warehouse: small good and bad tables for each GX suite."""

from __future__ import annotations

import uuid

import pytest

from waybill import roles, warehouse


@pytest.fixture
def scratch_schema():
    """A fresh schema owned by one test (dropped afterwards), readable by GX's and the poster's
    roles as ``marts`` is; yields its name."""
    name = f"gx_scratch_{uuid.uuid4().hex[:10]}"
    readers = "waybill_quality, waybill_poster"
    roles.migrate(only_if_stale=True)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"create schema {name}")
        conn.execute(f"grant usage on schema {name} to {readers}")
        conn.execute(
            f"alter default privileges in schema {name} grant select on tables to {readers}"
        )
    yield name
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"drop schema if exists {name} cascade")


@pytest.fixture
def gx_context(tmp_path):
    """A GX file context in a temporary folder (Data Docs included)."""
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(tmp_path / "gxproject"))
