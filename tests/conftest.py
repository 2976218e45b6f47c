"""Test-wide set-up: an isolated embedded warehouse and Airflow home under .waybill/test.

Set ``WAREHOUSE_URL`` (and ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``) to run against another server.
The environment is exported before any test imports Airflow, which reads it at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"

os.environ.setdefault("WAYBILL_HOME", str(ROOT / ".waybill" / "test"))

from waybill import runtime  # noqa: E402 - must follow WAYBILL_HOME

runtime.apply()

PARSE_TIMES: dict[str, float] = {}


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The real-world sample files in ../shared/corpus; skips when that folder is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent")
    return CORPUS


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata DB, migrated once per session."""
    from waybill.orchestration.runner import ensure_airflow_db

    ensure_airflow_db()


@pytest.fixture
def clean_warehouse():
    """A warehouse with none of Waybill's schemas; yields a psycopg connection (autocommit)."""
    from waybill import warehouse

    with warehouse.connect(autocommit=True) as conn:
        for schema in ("raw", "ops", "staging", "intermediate", "marts", "reference", "snapshots"):
            conn.execute(f"drop schema if exists {schema} cascade")
        yield conn


def pytest_collection_modifyitems(config, items) -> None:
    """Skip ``@pytest.mark.slow`` tests unless ``WAYBILL_SLOW_TESTS=1`` (they are not in make test)."""
    if os.environ.get("WAYBILL_SLOW_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="slow variant: set WAYBILL_SLOW_TESTS=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter) -> None:
    """Show how long each DAG file took to import (measured by the DagBag integrity test)."""
    if PARSE_TIMES:
        terminalreporter.section("DAG file import times (Airflow DagBag)")
        for path, seconds in sorted(PARSE_TIMES.items()):
            terminalreporter.write_line(f"{seconds:6.3f} s  {path}")
