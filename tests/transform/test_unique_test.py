"""The project's ``unique`` test (macros/test_unique.sql) trusts only an index that guarantees it.

The macro is compiled by dbt for a scratch table; its query must find the duplicates of a table
with no index, a plain index or a partial unique index, and may skip the scan only when a valid
unique index on exactly that column exists.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from waybill import warehouse
from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

SCHEMA = "unique_test_scratch"


@pytest.fixture
def scratch_table():
    """An empty table ``unique_test_scratch.t (event_id text)``, dropped afterwards."""
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"drop schema if exists {SCHEMA} cascade")
        conn.execute(f"create schema {SCHEMA}")
        conn.execute(f"create table {SCHEMA}.t (event_id text)")
    try:
        yield
    finally:
        with warehouse.connect(autocommit=True) as conn:
            conn.execute(f"drop schema {SCHEMA} cascade")


def _compiled_unique_test() -> str:
    relation = f"api.Relation.create(database=target.database, schema='{SCHEMA}', identifier='t')"
    completed = subprocess.run(
        [
            DBT_EXECUTABLE,
            "compile",
            "--quiet",
            "--output",
            "json",
            "--inline",
            f"{{{{ postgres__test_unique({relation}, 'event_id') }}}}",
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, **warehouse.dbt_env(), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    return json.loads(completed.stdout)["compiled"]


def test_duplicates_are_found_unless_a_unique_index_rules_them_out(scratch_table):
    query = _compiled_unique_test()
    with warehouse.connect(autocommit=True) as conn:

        def duplicates() -> list[tuple[str, int]]:
            return sorted(conn.execute(query).fetchall())

        conn.execute(
            f"insert into {SCHEMA}.t values ('a'), ('a'), ('b'), (null), (null), ('x'), ('x')"
        )
        assert duplicates() == [("a", 2), ("x", 2)]

        conn.execute(f"create index plain on {SCHEMA}.t (event_id)")
        assert duplicates() == [("a", 2), ("x", 2)]

        conn.execute(f"delete from {SCHEMA}.t where event_id = 'a'")
        conn.execute(f"create unique index partial on {SCHEMA}.t (event_id) where event_id <> 'x'")
        assert duplicates() == [("x", 2)]

        conn.execute(f"delete from {SCHEMA}.t where event_id = 'x'")
        conn.execute(f"create unique index total on {SCHEMA}.t (event_id)")
        plan = "\n".join(row[0] for row in conn.execute("explain analyze " + query).fetchall())
        assert duplicates() == []
        assert "(never executed)" in plan, plan
