"""No secret is ever written: the pipeline runs with canary credentials, then everything it wrote is searched.

Every warehouse role logs in with a canary password (``WAREHOUSE_<ROLE>_URL``, which the
migration sets on the embedded server, whose roles must give their password) and the ERP takes a
canary bearer token. The ingest DAGs, ``transform_warehouse`` and ``post_billing`` run through
Airflow against the sandbox; then ``build/`` (the run's reports and GX files), the Airflow home
(task logs, config), dbt's target and log folders, the server log, this process's output (the
DAG runs' logs) and every table of the Airflow metadata database (XComs, rendered template
fields, connections, serialized DAGs) are searched for the canaries, as text and as hex.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql

from waybill import roles, runtime, warehouse
from waybill.demo import sandbox_connections
from waybill.orchestration.runner import run_dag

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

INGEST_DAGS = ("ingest_erp", "ingest_wms", "ingest_tms", "ingest_carriers")


@pytest.fixture
def canaries(monkeypatch):
    """Canary passwords for every role (set in the warehouse by the migration); restored after."""
    tag = uuid.uuid4().hex[:12]
    passwords = {role: f"canarypw{tag}{role}" for role in warehouse.ROLES}
    admin = warehouse.location()
    for role, password in passwords.items():
        url = admin.with_login(warehouse.ROLES[role], password).url("postgresql")
        monkeypatch.setenv(f"WAREHOUSE_{role.upper()}_URL", url)
    roles.migrate()
    for key, value in warehouse.dbt_env().items():
        monkeypatch.setenv(key, value)
    try:
        yield {"token": f"canarytoken{tag}", "passwords": passwords}
    finally:
        monkeypatch.undo()
        roles.migrate()  # back to the stored passwords


def _hits_in_files(folders: list[Path], needles: list[str]) -> list[str]:
    hits = []
    encoded = [needle.encode() for needle in needles]
    for folder in folders:
        if not folder.exists():
            continue
        for path in [folder] if folder.is_file() else folder.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            data = path.read_bytes()
            hits += [
                f"{path}: {n.decode()}" for n in encoded if n in data or n.hex().encode() in data
            ]
    return hits


def _hits_in_airflow_db(needles: list[str]) -> tuple[list[str], int]:
    """Search every table of Airflow's metadata DB; return the hits and the tables searched."""
    admin = warehouse.location()
    hits = []
    with psycopg.connect(admin.conninfo(warehouse.AIRFLOW_DATABASE), autocommit=True) as conn:
        tables = conn.execute(
            "select schemaname, tablename from pg_tables"
            " where schemaname not in ('pg_catalog', 'information_schema')"
        ).fetchall()
        for schema, table in tables:
            for needle in needles:
                found = conn.execute(
                    sql.SQL(
                        "select count(*) from {} as t where strpos(t::text, %s) > 0"
                        " or strpos(t::text, %s) > 0"
                    ).format(sql.Identifier(schema, table)),
                    (needle, needle.encode().hex()),
                ).fetchone()
                if found and found[0]:
                    hits.append(f"airflow.{schema}.{table}: {needle} in {found[0]} rows")
    return hits, len(tables)


def _read_gate_scratch_configs(monkeypatch, tmp_path) -> list[str]:
    """Make the GX gate's scratch folders land in ``tmp_path`` and record each
    ``great_expectations.yml`` just before its folder is removed; return the list they fill."""
    import contextlib
    import shutil
    import tempfile
    import types
    from pathlib import Path

    from waybill.quality import gate_operator

    configs: list[str] = []

    @contextlib.contextmanager
    def recorded_scratch(prefix: str = "", **_: object):
        folder = tempfile.mkdtemp(prefix=prefix, dir=tmp_path)
        try:
            yield folder
        finally:
            configs.extend(p.read_text() for p in Path(folder).rglob("great_expectations.yml"))
            shutil.rmtree(folder)

    monkeypatch.setattr(
        gate_operator, "tempfile", types.SimpleNamespace(TemporaryDirectory=recorded_scratch)
    )
    return configs


def test_no_password_or_token_is_written_anywhere(
    canaries, clean_warehouse, airflow_db, monkeypatch, tmp_path, capfd
):
    from waybill_sandbox.server import running_sandbox

    gx_configs = _read_gate_scratch_configs(monkeypatch, tmp_path)
    token = canaries["token"]
    build = tmp_path / "build"
    monkeypatch.setenv("WAYBILL_BUILD_DIR", str(build))
    inbound = tmp_path / "inbound"
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
    with running_sandbox(seed=3, shipments=25, erp_token=token, inbound=inbound) as base_url:
        for name, value in sandbox_connections(base_url, token).items():
            monkeypatch.setenv(name, value)
        for dag_id in (*INGEST_DAGS, "transform_warehouse", "post_billing"):
            assert run_dag(dag_id, retries=False).state == "success", dag_id

    # The canaries were in use: every role logs in with its canary, the ERP got invoices.
    for role, password in canaries["passwords"].items():
        login = warehouse.role_location(role).with_login(warehouse.ROLES[role], password)
        psycopg.connect(login.conninfo()).close()
    with warehouse.connect(autocommit=True) as conn:
        posted = conn.execute("select count(*) from ops.billing_outbox where status = 'posted'")
        row = posted.fetchone()
        assert row is not None
        assert row[0] > 0
    # GX's config (in the gate's scratch folder, gone after the gate) names the URL's variable.
    assert gx_configs
    assert all("${WAYBILL_GX_WAREHOUSE_URL}" in config for config in gx_configs)

    needles = [token, *canaries["passwords"].values()]
    state = warehouse.state_dir()
    folders = [
        build,
        runtime.BUILD_DIR,
        state / "airflow",
        state / "pgdata" / "log",
        runtime.DBT_PROJECT_DIR / "target",
        runtime.DBT_PROJECT_DIR / "logs",
        tmp_path,
    ]
    output = capfd.readouterr()
    log_file = tmp_path / "captured-output.log"
    log_file.write_text(output.out + output.err)
    assert "post_billing" in log_file.read_text()  # the DAG runs' log lines were captured

    # The search finds a canary where one is planted (so zero hits below means something).
    planted = tmp_path / "planted" / "config.json"
    planted.parent.mkdir()
    planted.write_text(json.dumps({"password": needles[1]}))
    assert _hits_in_files([planted], needles) == [f"{planted}: {needles[1]}"]
    planted.unlink()

    file_hits = _hits_in_files(folders, needles)
    db_hits, tables = _hits_in_airflow_db(needles)
    print(f"canary scan: {len(folders)} folders, {tables} Airflow tables, {len(needles)} canaries")
    assert tables > 20  # the metadata DB's XCom, rendered fields, connections, dag runs, …
    assert file_hits == []
    assert db_hits == []
