"""Least-privilege warehouse roles: each component's role may do its job and nothing else.

Real embedded Postgres, migrated by ``waybill warehouse migrate``'s code; each check connects as
the role and tries the statement.
"""

from __future__ import annotations

import psycopg
import pytest

from waybill import roles, warehouse

DEAD_LETTER = (
    "insert into ops.dead_letters (dead_letter_key, batch_id, source, entity,"
    " record_location, reason) values (md5(random()::text), gen_random_uuid(), 'probe',"
    " 'probe', 'probe', 'probe') on conflict (dead_letter_key) do nothing"
)


@pytest.fixture(scope="module")
def migrated():
    """The test warehouse migrated, with one table in each of raw and marts."""
    roles.migrate()
    with warehouse.connect(role="loader", autocommit=True) as conn:
        conn.execute("create table if not exists raw.probe__rows (value text)")
    with warehouse.connect(role="transformer", autocommit=True) as conn:
        conn.execute("drop table if exists marts.probe_mart")
        conn.execute("create table marts.probe_mart as select 1 as value")
    yield
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("drop table if exists raw.probe__rows, marts.probe_mart")


def _fails(role: str, statement: str) -> None:
    with (
        warehouse.connect(role=role, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege) as raised,
    ):
        conn.execute(statement)
    assert "permission denied" in str(raised.value)


def _works(role: str, statement: str) -> None:
    with warehouse.connect(role=role) as conn:
        conn.execute(statement)
        conn.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "insert into raw.probe__rows values ('x')",
        "insert into ops.load_batches (batch_id, source, entity) values"
        " (gen_random_uuid(), 'probe', 'probe')",
        "insert into ops.billing_runs (run_id) values ('probe')",
        "insert into marts.probe_mart values (2)",
        "select * from raw.probe__rows",
        "select * from ops.billing_outbox",
        "create table marts.analyst_table (value int)",
    ],
)
def test_analyst_cannot_write_anywhere_nor_read_past_marts(migrated, statement):
    _fails("analyst", statement)


def test_analyst_reads_marts_and_its_name_says_analyst(migrated):
    with warehouse.connect(role="analyst") as conn:
        assert conn.execute("select value from marts.probe_mart").fetchall() == [(1,)]
        user = conn.execute("select current_user").fetchone()
    assert user is not None
    assert "analyst" in user[0]


def test_webhook_role_cannot_read_marts_or_other_raw_tables(migrated):
    _fails("webhook", "select * from marts.probe_mart")
    _fails("webhook", "insert into raw.probe__rows values ('x')")
    _fails("webhook", "create table raw.webhook_made (value int)")
    _fails("webhook", "select * from ops.billing_outbox")


def test_webhook_role_inserts_its_events_and_dead_letters(migrated):
    carrier, entity = roles.webhook_tables()[0]
    _works(
        "webhook",
        f"insert into raw.{carrier}__{entity} (batch_id, source, entity, natural_key,"
        " payload_hash, payload, extracted_at) values (gen_random_uuid(), 'c', 'e', 'k',"
        " 'h', '{}', now())",
    )
    _works("webhook", DEAD_LETTER)


def test_loader_cannot_write_marts_or_billing(migrated):
    _fails("loader", "insert into marts.probe_mart values (2)")
    _fails("loader", "create table marts.loader_made (value int)")
    _fails("loader", "insert into ops.billing_runs (run_id) values ('probe')")
    _works("loader", "insert into raw.probe__rows values ('x')")
    _works("loader", DEAD_LETTER)


def test_poster_cannot_write_raw_or_load_bookkeeping(migrated):
    _fails("poster", "insert into raw.probe__rows values ('x')")
    _fails("poster", "create table raw.poster_made (value int)")
    _fails("poster", "update ops.watermarks set cursor_value = 'x'")
    _fails("poster", "insert into marts.probe_mart values (2)")
    _works("poster", "insert into ops.billing_runs (run_id) values ('probe')")
    _works("poster", "select * from marts.probe_mart")


def test_transformer_reads_raw_written_later_by_the_loader(migrated):
    with warehouse.connect(role="loader", autocommit=True) as conn:
        conn.execute("create table if not exists raw.probe__later (value text)")
    try:
        _works("transformer", "select * from raw.probe__later")
        _fails("transformer", "insert into raw.probe__later values ('x')")
        _fails("transformer", "insert into ops.billing_runs (run_id) values ('probe')")
    finally:
        with warehouse.connect(autocommit=True) as conn:
            conn.execute("drop table raw.probe__later")


def test_quality_reads_marts_and_ops_but_writes_nothing(migrated):
    _works("quality", "select * from marts.probe_mart")
    _works("quality", "select * from ops.load_batches")
    _fails("quality", "insert into marts.probe_mart values (2)")
    _fails("quality", "insert into ops.billing_runs (run_id) values ('probe')")


def test_no_role_reaches_the_airflow_database(migrated):
    for role in warehouse.ROLES:
        target = warehouse.role_location(role)
        with pytest.raises(psycopg.OperationalError) as raised:
            psycopg.connect(target.conninfo(warehouse.AIRFLOW_DATABASE)).close()
        assert "permission denied for database" in str(raised.value), role


def test_roles_need_their_password(migrated):
    target = warehouse.role_location("loader").with_login("waybill_loader", "wrong")
    with pytest.raises(psycopg.OperationalError) as raised:
        psycopg.connect(target.conninfo()).close()
    assert "password authentication failed" in str(raised.value)


def test_migrate_twice_changes_nothing(migrated):
    def state() -> list[tuple]:
        with warehouse.connect(autocommit=True) as conn:
            return conn.execute(
                """
                select 'schema', nspname, nspowner::regrole::text, coalesce(nspacl::text, '')
                from pg_namespace where nspname not like 'pg\\_%%'
                union all
                select 'table', n.nspname || '.' || c.relname, c.relowner::regrole::text,
                    coalesce(c.relacl::text, '')
                from pg_class as c inner join pg_namespace as n on c.relnamespace = n.oid
                where c.relkind = 'r' and n.nspname in ('raw', 'ops', 'marts')
                union all
                select 'default', coalesce(defaclnamespace::regnamespace::text, ''),
                    defaclrole::regrole::text, defaclacl::text
                from pg_default_acl
                union all
                select 'role', rolname, rolsuper::text || rolcreaterole::text, ''
                from pg_roles where rolname like 'waybill%%'
                order by 1, 2, 3, 4
                """
            ).fetchall()

    before = state()
    assert roles.migrate() == roles.migrate()
    assert state() == before
    with warehouse.connect(autocommit=True) as conn:
        stamps = conn.execute("select count(*) from ops.schema_migrations").fetchone()
    assert stamps == (1,)


def test_an_emptied_warehouse_is_migrated_again_on_connect(clean_warehouse, migrated):
    with warehouse.connect(role="loader") as conn:
        row = conn.execute("select count(*) from ops.load_batches").fetchone()
    assert row == (0,)


def test_components_connect_only_as_their_roles():
    """Outside the migration, Waybill's code opens no connection with ``WAREHOUSE_URL``'s login."""
    import ast
    from pathlib import Path

    package = Path(warehouse.__file__).parent
    # Administration, not a component: the demo empties the embedded warehouse before it starts,
    # and a test stack drops and creates its own Airflow metadata database.
    allowed = {("demo.py", "_reset_warehouse"), ("airflow_stack.py", "_metadata_database")}
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name in ("warehouse.py", "roles.py"):
            continue
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                    continue
                target = ast.unparse(call.func)
                as_admin = target == "warehouse.connect" and not any(
                    keyword.arg == "role" for keyword in call.keywords
                )
                if (as_admin or target == "psycopg.connect") and (
                    path.name,
                    function.name,
                ) not in allowed:
                    found.append(f"{path.relative_to(package)}:{call.lineno} {target}")
    assert found == []


@pytest.fixture
def external_server(monkeypatch):
    """``WAREHOUSE_URL`` names a server that is not the embedded one (nothing connects to it)."""
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://admin:adminpw@db.example:5432/waybill")
    warehouse.location.cache_clear()
    yield
    monkeypatch.undo()
    warehouse.location.cache_clear()


def test_an_external_server_takes_role_logins_from_the_environment(external_server, monkeypatch):
    with pytest.raises(LookupError, match="WAREHOUSE_LOADER_URL or WAREHOUSE_LOADER_PASSWORD"):
        warehouse.role_location("loader")
    monkeypatch.setenv("WAREHOUSE_LOADER_PASSWORD", "loaderpw")
    monkeypatch.setenv("WAREHOUSE_POSTER_URL", "postgresql://acme_poster:posterpw@db2:6432/dw")
    loader = warehouse.role_location("loader")
    poster = warehouse.role_location("poster")
    assert (loader.host, loader.port, loader.user, loader.password, loader.database) == (
        "db.example",
        5432,
        "waybill_loader",
        "loaderpw",
        "waybill",
    )
    assert (poster.host, poster.user, poster.password, poster.database) == (
        "db2",
        "acme_poster",
        "posterpw",
        "dw",
    )


def test_the_analyst_role_must_say_analyst(external_server, monkeypatch):
    for role in warehouse.ROLES:
        monkeypatch.setenv(f"WAREHOUSE_{role.upper()}_PASSWORD", f"{role}pw")
    assert roles.role_names()["analyst"] == "waybill_analyst"
    monkeypatch.setenv("WAREHOUSE_ANALYST_URL", "postgresql://readonly:pw@db.example/waybill")
    with pytest.raises(ValueError, match="must contain 'analyst'"):
        roles.role_names()


def test_role_passwords_file_is_private(migrated):
    path = warehouse.role_passwords_path()
    assert path.stat().st_mode & 0o777 == 0o600
    assert set(warehouse.stored_role_passwords()) == set(warehouse.ROLES)
