"""Partner endpoints and credentials, from Airflow connections only.

A connection is looked up through Airflow (``AIRFLOW_CONN_<ID>`` environment variables, a secrets
backend, or the metadata DB). ``host`` holds the base URL; ``password`` the bearer token; ``extra``
may carry ``{"token_header": "..."}`` or other per-source settings. Nothing here logs a secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any


class MissingConnection(LookupError):
    """The Airflow connection a source needs is not defined."""


@dataclass(frozen=True)
class Endpoint:
    """A partner's base URL and credentials."""

    conn_id: str
    base_url: str
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the token
        return f"Endpoint(conn_id={self.conn_id!r}, base_url={self.base_url!r})"

    def auth_headers(self) -> dict[str, str]:
        """Return the Authorization header for this endpoint (empty without a token)."""
        if not self.token:
            return {}
        header = self.extra.get("token_header", "Authorization")
        prefix = self.extra.get("token_prefix", "Bearer ")
        return {header: f"{prefix}{self.token}"}


def get_endpoint(conn_id: str) -> Endpoint:
    """Resolve ``conn_id`` through Airflow's connection lookup.

    Raises :class:`MissingConnection` naming the connection and the variable to set.
    """
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # plain CLI use without Airflow's task runtime
        return _from_environment(conn_id)
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:
        # Outside a running task Airflow 3 has no API to ask; the environment is the same source.
        try:
            return _from_environment(conn_id)
        except MissingConnection:
            raise MissingConnection(
                f"Airflow connection {conn_id!r} is not defined ({exc}); "
                f"set AIRFLOW_CONN_{conn_id.upper()}"
            ) from None
    base_url = conn.host or ""
    if conn.conn_type in ("http", "https") and base_url and "://" not in base_url:
        base_url = f"{conn.conn_type}://{base_url}"
    if conn.port and "://" in base_url and base_url.count(":") == 1:
        base_url = f"{base_url}:{conn.port}"
    if conn.schema:
        base_url = f"{base_url.rstrip('/')}/{conn.schema.strip('/')}"
    return Endpoint(conn_id, base_url, conn.password or None, dict(conn.extra_dejson or {}))


def _from_environment(conn_id: str) -> Endpoint:
    value = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not value:
        raise MissingConnection(
            f"connection {conn_id!r} is not defined; set AIRFLOW_CONN_{conn_id.upper()}"
        )
    if value.lstrip().startswith("{"):
        spec = json.loads(value)
        extra = spec.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        base_url = spec.get("host", "")
        if spec.get("schema"):
            base_url = f"{base_url.rstrip('/')}/{spec['schema'].strip('/')}"
        return Endpoint(conn_id, base_url, spec.get("password"), extra)
    raise MissingConnection(
        f"AIRFLOW_CONN_{conn_id.upper()} must be JSON "
        '({"conn_type": "http", "host": "http://…", "password": "<token>"})'
    )
