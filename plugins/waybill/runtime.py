"""The environment every Waybill process runs in: Airflow, dbt and GX settings derived from one place.

:func:`environment` is what ``waybill airflow …``, ``waybill demo`` and the test suite export before
Airflow is imported. Values already set in the environment win, so a team's deployment
(docker-compose, Kubernetes) configures the same names directly.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from waybill import warehouse

if TYPE_CHECKING:
    from collections.abc import Mapping

DAGS_FOLDER = warehouse.PROJECT_ROOT / "dags"
DBT_PROJECT_DIR = warehouse.PROJECT_ROOT / "dbt_project"
BUILD_DIR = warehouse.PROJECT_ROOT / "build"
# `dbt docs generate` writes the site here (waybill.dbt_docs); the Airflow UI serves it.
DBT_DOCS_DIR = BUILD_DIR / "reports" / "dbt-docs"
# The dbt of the interpreter running Waybill (its venv), whatever PATH says.
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
# scheme://user:password@ -> keeps scheme://user: and masks up to the last @ before the host.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^\s]*@")


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the variables to export (only those not already set in ``base``, default ``os.environ``).

    Resolving the warehouse may start the embedded Postgres and, on first use, write its role
    passwords file (the dbt profile's ``WAREHOUSE_USER``/``WAREHOUSE_PASSWORD`` are the
    transformer role's); nothing else has side effects.
    """
    base = os.environ if base is None else base
    wanted: dict[str, str] = {
        "AIRFLOW_HOME": str(warehouse.state_dir() / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        # Not plugins/: Airflow imports every .py there under its bare file name (load/copy.py
        # would shadow the stdlib's copy). Waybill is an installed package; Airflow needs no plugins.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(warehouse.state_dir() / "airflow" / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": r"(airflow|waybill)\..*",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": warehouse.airflow_metadata_url(),
        "WAREHOUSE_URL": warehouse.sqlalchemy_url("postgresql"),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "DO_NOT_TRACK": "1",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # cosmos keeps dbt's partial-parse state here; /tmp/cosmos (its default) is shared by
        # every project on the machine, whose profiles differ, so each task would parse afresh.
        "AIRFLOW__COSMOS__CACHE_DIR": str(warehouse.state_dir() / "cosmos"),
        # cosmos's plugin serves build/reports/dbt-docs in the UI (Browse → dbt Docs).
        "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": json.dumps(
            {"waybill": {"dir": str(DBT_DOCS_DIR), "index": "index.html", "name": "dbt Docs"}}
        ),
        "GX_ANALYTICS_ENABLED": "false",
        "WAYBILL_BUILD_DIR": str(BUILD_DIR),
        **warehouse.dbt_env(),
    }
    return {key: value for key, value in wanted.items() if key not in base}


def masked(variables: Mapping[str, str]) -> dict[str, str]:
    """``variables`` with every password shown as ``***``: ``*_PASSWORD`` values, and URL passwords."""
    shown = {}
    for key, value in variables.items():
        if key.endswith("PASSWORD") and value:
            value = "***"
        elif "://" in value:
            value = _URL_PASSWORD.sub(r"\1***@", value)
        shown[key] = value
    return shown


def apply() -> None:
    """Export :func:`environment` into this process (before Airflow is imported)."""
    os.environ.update(environment())
