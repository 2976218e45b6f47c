"""The warehouse's roles and what each may do, applied by one migration (``waybill warehouse migrate``).

One least-privilege role per component (names in :data:`waybill.warehouse.ROLES`):

| role | may |
| --- | --- |
| loader | create and fill ``raw`` tables; read and write the load bookkeeping in ``ops`` (the tables of ``include/ddl/ops.sql``) |
| transformer | read ``raw`` and ``ops``; own ``staging``, ``intermediate``, ``marts``, ``snapshots``, ``reference`` (dbt runs as it) |
| poster | read and write the billing tables (``include/ddl/billing.sql``); read ``ops``, ``marts`` and ``staging`` (the ERP's disputes) |
| webhook | insert into the webhook raw tables (and read them, to spot a replay) and into ``ops.dead_letters`` |
| quality | read ``marts``, ``intermediate`` and ``ops`` (Great Expectations; the gate's verdict is the poster's) |
| analyst | read ``marts`` |

Tables created later are covered without a new migration: default privileges give readers
every table the loader adds to ``raw`` and dbt adds to its schemas, and the ops tables of a
DDL file go to that file's writer (:data:`DDL_WRITERS`) the next time the migration runs —
which :func:`ensure_migrated` does whenever the DDL changed. No role may connect to Airflow's
database. Everything here runs as ``WAREHOUSE_URL``'s login; nothing else uses it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg import sql

from waybill import warehouse

if TYPE_CHECKING:
    import psycopg

# Bump when the grants below change, so every warehouse is migrated again.
MIGRATION_VERSION = "5"  # 3: raw.carrier_events, updatable by the loader; 4: the crm role
RAW_SCHEMAS = ("raw", "ops")
DBT_SCHEMAS = ("staging", "intermediate", "marts", "snapshots", "reference")
# Each include/ddl file's tables are written by one role; a new file must be named here.
DDL_WRITERS = {
    "ops.sql": "loader",
    "billing.sql": "poster",
    "crm.sql": "crm",
    "health.sql": "transformer",  # pipeline_health runs dbt source freshness as the transformer
}
READERS = {
    "transformer": ("raw", "ops"),
    # staging: billing reads the ERP's resolved disputes from staging.stg_erp__disputes.
    "poster": ("ops", "marts", "staging"),
    "quality": ("ops", "marts", "intermediate"),
    "analyst": ("marts",),
    # The CRM sync sends the marts' customer-visible status and cases (disputes from staging).
    "crm": ("ops", "marts", "staging"),
}
# Roles that use temporary tables (COPY staging, dbt incremental merges, GX queries).
TEMP_USERS = ("loader", "transformer", "poster", "quality")
STAMP = "ops.schema_migrations"
HBA_MARKER = "# waybill roles (waybill warehouse migrate)"
_CREATES = re.compile(r"create\s+table\s+if\s+not\s+exists\s+ops\.(\w+)", re.IGNORECASE)


class MigrationNeeded(RuntimeError):
    """The warehouse is behind this code's migration and no migration login is configured."""


def can_migrate() -> bool:
    """Whether this process may run the migration: ``WAREHOUSE_URL`` is set, or nothing is (the
    embedded default). A process given only role logins for another server may not.
    """
    if os.environ.get("WAREHOUSE_URL"):
        return True
    return not any(os.environ.get(f"WAREHOUSE_{role.upper()}_URL") for role in warehouse.ROLES)


def role_names() -> dict[str, str]:
    """Component -> Postgres role name, as each role's credentials name it.

    Raises ``ValueError`` when the analyst's role name lacks ``analyst`` or a role is the
    migration's own login, and ``LookupError`` (from :func:`waybill.warehouse.role_location`)
    for a role without credentials.
    """
    admin = warehouse.location().user
    names = {role: warehouse.role_location(role).user for role in warehouse.ROLES}
    if "analyst" not in names["analyst"]:
        raise ValueError(
            f"the analyst role's name must contain 'analyst', got {names['analyst']!r}"
        )
    for role, name in names.items():
        if name == admin:
            raise ValueError(f"the {role} role must not be WAREHOUSE_URL's login {admin!r}")
    if len(set(names.values())) != len(names):
        raise ValueError(f"each component needs its own role, got {names}")
    return names


@functools.cache
def _ddl_files() -> tuple[tuple[str, str], ...]:
    from waybill.load.schema import DDL_DIR

    return tuple((path.name, path.read_text()) for path in sorted(DDL_DIR.glob("*.sql")))


@functools.cache
def webhook_tables() -> tuple[tuple[str, str], ...]:
    """(carrier, entity) of every ``webhook`` block in ``sources.yaml``: the webhook role's tables."""
    from waybill.sources import load_sources

    return tuple(
        sorted(
            (name, source.webhook.entity)
            for name, source in load_sources().items()
            if source.webhook is not None
        )
    )


@functools.cache
def fingerprint() -> str:
    """A digest of what the migration applies: its version, the DDL, the webhook tables.

    Role names are not in it (a component knows only its own login); renaming a role takes
    an explicit ``waybill warehouse migrate``.
    """
    digest = hashlib.sha256(MIGRATION_VERSION.encode())
    for name, text in _ddl_files():
        digest.update(f"\0{name}\0{text}".encode())
    digest.update(repr(webhook_tables()).encode())
    return digest.hexdigest()


def ensure_migrated(conn: psycopg.Connection | None = None, role: str = "transformer") -> None:
    """Migrate when the warehouse is behind: the stamp is missing or stale, or a schema is gone.

    Reads ``ops.schema_migrations`` over ``conn`` (a connection as ``role``; opened here when
    None) — one query, so every connection can afford it; leaves ``conn`` idle. The analyst
    cannot read ``ops`` and never triggers a migration. Raises :class:`MigrationNeeded` when
    the warehouse is behind and this process has no migration login.
    """
    if role == "analyst":
        return
    if conn is None:
        with warehouse.connect(role=role):
            return  # connect() runs this check on the connection it opens
    if _is_current(conn, fingerprint()):
        return
    if not can_migrate():
        raise MigrationNeeded(
            "the warehouse is not migrated to this version of Waybill: run "
            "`waybill warehouse migrate` with WAREHOUSE_URL set to a login that may create roles"
        )
    migrate(only_if_stale=True)


def _is_current(conn: psycopg.Connection, expected: str) -> bool:
    import psycopg

    schemas = [*RAW_SCHEMAS, *DBT_SCHEMAS]
    try:
        row = conn.execute(
            f"select fingerprint, (select count(*) from pg_namespace where nspname = any(%s))"
            f" from {STAMP}",
            (schemas,),
        ).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InsufficientPrivilege):
        row = None
    finally:
        if not conn.autocommit:
            conn.rollback()
    return row is not None and row[0] == expected and row[1] == len(schemas)


def migrate(*, only_if_stale: bool = False) -> dict[str, str]:
    """Create or update the roles, the schemas, the ops tables and every grant; return the role names.

    Idempotent; serialized by a session advisory lock, so concurrent callers migrate once each
    in turn (with ``only_if_stale`` a caller that finds the work done returns). Reads the role
    credentials (:func:`waybill.warehouse.role_location`; on the embedded server generates
    them into ``.waybill/warehouse-roles.json`` and requires them in ``pg_hba.conf``). Writes
    roles, grants, schemas and ``ops.schema_migrations`` as ``WAREHOUSE_URL``'s login.
    Raises ``LookupError`` / ``ValueError`` from :func:`role_names`, ``psycopg.Error`` when
    that login may not create roles.
    """
    import psycopg

    names = role_names()
    stamp = fingerprint()
    admin = warehouse.location()
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext('waybill.migrate'))")
        try:
            if only_if_stale and _is_current(conn, stamp):
                return names
            if warehouse.is_embedded(admin):
                _require_passwords_in_hba(conn, sorted(names.values()))
            _roles(conn, names)
            with conn.transaction():
                _database(conn, names, admin)
                _schemas(conn, names)
                _grants(conn, names, admin.user)
                conn.execute(
                    f"create table if not exists {STAMP} ("
                    " fingerprint text not null, migrated_at timestamptz not null default now())"
                )
                conn.execute(f"delete from {STAMP}")
                conn.execute(f"insert into {STAMP} (fingerprint) values (%s)", (stamp,))
                readers = [role for role in names if role != "analyst"]
                conn.execute(
                    sql.SQL("grant select on {} to {}").format(
                        sql.SQL(STAMP), _idents(names, *readers)
                    )
                )
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('waybill.migrate'))")
    return names


def _idents(names: dict[str, str], *roles: str) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(names[r]) for r in dict.fromkeys(roles))


def _require_passwords_in_hba(conn: psycopg.Connection, role_names: list[str]) -> None:
    """Make the embedded server ask the roles for their password (pgserver trusts everyone).

    Rewrites the block of ``pg_hba.conf`` under :data:`HBA_MARKER` (first, so it wins) when it
    differs and reloads the configuration. The migration's own login keeps the server's rules.
    """
    row = conn.execute("show hba_file").fetchone()
    assert row is not None  # show always returns one row
    path = Path(row[0])
    text = path.read_text()
    users = ",".join(role_names)
    block = "\n".join(
        [
            HBA_MARKER,
            f"local all {users} scram-sha-256",
            f"host all {users} 127.0.0.1/32 scram-sha-256",
            f"host all {users} ::1/128 scram-sha-256",
            HBA_MARKER + " end",
            "",
        ]
    )
    if text.startswith(block):
        return
    if HBA_MARKER in text:
        text = text.split(HBA_MARKER + " end\n", 1)[-1]
    path.write_text(block + text)
    conn.execute("select pg_reload_conf()")


def _roles(conn: psycopg.Connection, names: dict[str, str]) -> None:
    """Create each role if missing; set login, no inherited powers, and its password.

    The password goes over the wire as a SCRAM verifier, so no server log can show it.
    """
    import psycopg

    for role, name in names.items():
        password = warehouse.role_location(role).password
        with contextlib.suppress(psycopg.errors.DuplicateObject):  # created meanwhile elsewhere
            conn.execute(sql.SQL("create role {}").format(sql.Identifier(name)))
        verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
        conn.execute(
            sql.SQL(
                "alter role {} with login nosuperuser nocreatedb nocreaterole noreplication"
                " nobypassrls password {}"
            ).format(sql.Identifier(name), sql.Literal(verifier.decode()))
        )


def _database(conn: psycopg.Connection, names: dict[str, str], admin: warehouse.Location) -> None:
    """Only the roles connect to the warehouse database; none reaches Airflow's."""
    database = sql.Identifier(admin.database)
    everyone = _idents(names, *names)
    conn.execute(sql.SQL("revoke all on database {} from public").format(database))
    conn.execute(sql.SQL("grant connect on database {} to {}").format(database, everyone))
    conn.execute(
        sql.SQL("grant temporary on database {} to {}").format(
            database, _idents(names, *TEMP_USERS)
        )
    )
    airflow = conn.execute(
        "select 1 from pg_database where datname = %s and datname <> current_database()",
        (warehouse.AIRFLOW_DATABASE,),
    ).fetchone()
    if airflow:
        target = sql.Identifier(warehouse.AIRFLOW_DATABASE)
        conn.execute(sql.SQL("revoke all on database {} from public").format(target))
        conn.execute(sql.SQL("revoke all on database {} from {}").format(target, everyone))


def _schemas(conn: psycopg.Connection, names: dict[str, str]) -> None:
    """The ops DDL and webhook raw tables (as the migration's login); dbt's schemas owned by dbt's role."""
    from waybill.load.schema import ensure_ops_schema, ensure_raw_table

    ensure_ops_schema(conn)
    for carrier, entity in webhook_tables():
        ensure_raw_table(conn, carrier, entity)
    transformer = sql.Identifier(names["transformer"])
    for schema in DBT_SCHEMAS:
        conn.execute(
            sql.SQL("create schema if not exists {} authorization {}").format(
                sql.Identifier(schema), transformer
            )
        )
        conn.execute(
            sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), transformer)
        )
    # Relations built before the roles existed: dbt must own what it replaces.
    foreign = conn.execute(
        """
        select c.relkind, n.nspname, c.relname from pg_class as c
        inner join pg_namespace as n on c.relnamespace = n.oid
        where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm', 'f')
            and c.relowner <> %s::regrole
        """,
        (list(DBT_SCHEMAS), names["transformer"]),
    ).fetchall()
    kinds = {"v": "view", "m": "materialized view", "f": "foreign table"}
    for relkind, schema, name in foreign:
        conn.execute(
            sql.SQL("alter {} {} owner to {}").format(
                sql.SQL(kinds.get(relkind, "table")), sql.Identifier(schema, name), transformer
            )
        )


def _grants(conn: psycopg.Connection, names: dict[str, str], admin: str) -> None:
    """Schema grants, table grants for what exists, default privileges for what comes later."""

    def run(template: str, **parts: sql.Composable) -> None:
        conn.execute(sql.SQL(template).format(**parts))

    def to(*roles: str) -> sql.Composable:
        return _idents(names, *roles)

    def schema(name: str) -> sql.Composable:
        return sql.Identifier(name)

    for name in (*RAW_SCHEMAS, *DBT_SCHEMAS):
        run("revoke all on schema {s} from public", s=schema(name))
    owner = sql.Identifier(admin)
    run("grant usage, create on schema raw to {r}", r=to("loader"))
    run("grant select, insert on all tables in schema raw to {r}", r=to("loader"))
    # A pull of an event first pushed fills in its publication time (waybill.load.carrier_events).
    run("grant update on raw.carrier_events to {r}", r=to("loader"))
    run(
        "alter default privileges for role {o} in schema raw grant select, insert on tables to {r}",
        o=owner,
        r=to("loader"),
    )
    run("grant usage on schema raw to {r}", r=to("webhook"))
    for carrier, entity in webhook_tables():
        table = sql.Identifier("raw", f"{carrier}__{entity}")
        run("grant select, insert on {t} to {r}", t=table, r=to("webhook"))
    for role, schemas in READERS.items():
        for name in schemas:
            run("grant usage on schema {s} to {r}", s=schema(name), r=to(role))
            run("grant select on all tables in schema {s} to {r}", s=schema(name), r=to(role))
            creator = names["transformer"] if name in DBT_SCHEMAS else admin
            run(
                "alter default privileges for role {o} in schema {s} grant select on tables to {r}",
                o=sql.Identifier(creator),
                s=schema(name),
                r=to(role),
            )
    run(
        "alter default privileges for role {o} in schema raw grant select on tables to {r}",
        o=sql.Identifier(names["loader"]),
        r=to("transformer"),
    )
    run("grant usage on schema ops to {r}", r=to("loader", "webhook"))
    for file_name, text in _ddl_files():
        writer = DDL_WRITERS.get(file_name)
        if writer is None:
            raise ValueError(
                f"include/ddl/{file_name} has no writer role: add it to waybill.roles.DDL_WRITERS"
            )
        for table in dict.fromkeys(_CREATES.findall(text)):
            run(
                "grant select, insert, update, delete on {t} to {r}",
                t=sql.Identifier("ops", table),
                r=to(writer),
            )
    run("grant insert on ops.dead_letters to {r}", r=to("webhook", "crm"))
    run("grant select (dead_letter_key) on ops.dead_letters to {r}", r=to("webhook", "crm"))
