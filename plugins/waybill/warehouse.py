"""Where the warehouse is, in one place.

`WAREHOUSE_URL` names any Postgres (a SQLAlchemy/libpq URL such as
``postgresql://user:pass@host:5432/waybill``). Unset, Waybill starts an embedded
Postgres (PyPI ``pgserver``) in ``.waybill/pgdata`` under the project root — started
once, left running, and reused by every later process — and uses its ``waybill``
database; Airflow's metadata lives in the same server's ``airflow`` database.

Every consumer gets its connection from here: psycopg (:func:`connect`),
SQLAlchemy (:func:`sqlalchemy_url`), the dbt profile (:func:`dbt_env`), Great
Expectations (:func:`sqlalchemy_url`, used with ``add_sql`` because ``add_postgres``
rejects socket URLs) and Airflow's metadata DB (:func:`airflow_metadata_url`).
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

if TYPE_CHECKING:
    import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAREHOUSE_DATABASE = "waybill"
AIRFLOW_DATABASE = "airflow"

# pgserver logs every handle it opens and closes at INFO, including from atexit hooks.
logging.getLogger("pgserver").setLevel(logging.WARNING)


def state_dir() -> Path:
    """Return the folder for local state (embedded Postgres, Airflow home): ``WAYBILL_HOME`` or ``.waybill``."""
    return Path(os.environ.get("WAYBILL_HOME", PROJECT_ROOT / ".waybill")).resolve()


@dataclass(frozen=True)
class Location:
    """The parts of a Postgres URL, with a socket directory allowed as ``host``."""

    host: str
    port: int
    user: str
    password: str
    database: str

    def url(self, driver: str = "postgresql+psycopg", database: str | None = None) -> str:
        """Render as a SQLAlchemy URL; a socket directory goes into the ``host`` query parameter."""
        db = database or self.database
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.host.startswith("/"):
            return f"{driver}://{auth}@/{db}?host={quote(self.host, safe='/')}&port={self.port}"
        return f"{driver}://{auth}@{self.host}:{self.port}/{db}"

    def conninfo(self, database: str | None = None) -> str:
        """Render as a libpq key/value string for psycopg."""
        parts = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": database or self.database,
        }
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{k}='{_escape_conninfo(v)}'" for k, v in parts.items())


def _escape_conninfo(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def parse_url(url: str) -> Location:
    """Parse ``postgresql[+driver]://user:pass@host:port/db?host=/socket/dir`` into a :class:`Location`."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise ValueError(f"WAREHOUSE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    port = int(query.get("port", [parts.port or 5432])[0])
    database = unquote(parts.path.lstrip("/")) or WAREHOUSE_DATABASE
    return Location(
        host=host,
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        database=database,
    )


@functools.cache
def location() -> Location:
    """Resolve the warehouse: ``WAREHOUSE_URL`` if set, else the embedded Postgres (started if needed).

    Writes: on first use of the embedded server, ``.waybill/pgdata`` and the ``waybill`` and
    ``airflow`` databases. Raises ``ValueError`` for a URL that is not Postgres.
    """
    configured = os.environ.get("WAREHOUSE_URL")
    if configured:
        return parse_url(configured)
    return _embedded_location()


def _embedded_location() -> Location:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgserver

        pgdata = state_dir() / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server outlives this process, so the next task reuses it.
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        server_location = parse_url(server.get_uri("postgres"))
    _ensure_databases(server_location, (WAREHOUSE_DATABASE, AIRFLOW_DATABASE))
    return Location(
        host=server_location.host,
        port=server_location.port,
        user=server_location.user,
        password=server_location.password,
        database=WAREHOUSE_DATABASE,
    )


def _ensure_databases(server: Location, names: tuple[str, ...]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
        existing = {row[0] for row in conn.execute("select datname from pg_database")}
        for name in names:
            if name not in existing:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def sqlalchemy_url(driver: str = "postgresql+psycopg") -> str:
    """Return the warehouse as a SQLAlchemy URL (psycopg 3 driver by default)."""
    return location().url(driver)


def connect(**kwargs: Any) -> psycopg.Connection:
    """Open a psycopg connection to the warehouse; the caller closes it (use ``with``)."""
    import psycopg

    return psycopg.connect(location().conninfo(), **kwargs)


def airflow_metadata_url() -> str:
    """Return Airflow's metadata DB URL: ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` or the warehouse server's ``airflow`` DB."""
    configured = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if configured:
        return configured
    return location().url("postgresql+psycopg2", database=AIRFLOW_DATABASE)


def dbt_env() -> dict[str, str]:
    """Return the environment variables the dbt profile (``dbt_project/profiles.yml``) reads."""
    loc = location()
    return {
        "WAREHOUSE_HOST": loc.host,
        "WAREHOUSE_PORT": str(loc.port),
        "WAREHOUSE_USER": loc.user,
        "WAREHOUSE_PASSWORD": loc.password,
        "WAREHOUSE_DBNAME": loc.database,
    }
