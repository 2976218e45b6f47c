"""The dbt docs site: generated into ``build/reports/dbt-docs``, served inside the Airflow UI.

``dbt docs generate --static`` writes ``index.html``, ``manifest.json`` and ``catalog.json`` (what
cosmos's dbt docs plugin serves under *Browse → dbt Docs*) and ``static_index.html`` (one
self-contained page to open from disk). The plugin's setting
(``[cosmos] dbt_docs_projects``) is exported by :func:`waybill.runtime.environment`.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from waybill import runtime

if TYPE_CHECKING:
    from pathlib import Path

DOCS_DIR = runtime.DBT_DOCS_DIR
LOG_FILE = runtime.BUILD_DIR / "reports" / "dbt-docs.log"
# The project's slug in ``[cosmos] dbt_docs_projects`` (runtime.environment) and in the URL.
SLUG = "waybill"
UI_PATH = f"/cosmos/{SLUG}/dbt_docs_index.html"


def generate() -> Path | None:
    """Run ``dbt docs generate --static`` into :data:`DOCS_DIR` (migrating the warehouse's roles
    first: dbt logs in as the transformer); return ``static_index.html``, or None when dbt failed
    (its output is in :data:`LOG_FILE`)."""
    from waybill import roles

    roles.ensure_migrated(role="transformer")
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with LOG_FILE.open("w") as log:
        completed = subprocess.run(
            [
                str(runtime.DBT_EXECUTABLE),
                "docs",
                "generate",
                "--static",
                "--no-version-check",
                "--target-path",
                str(DOCS_DIR),
            ],
            cwd=runtime.DBT_PROJECT_DIR,
            env={**os.environ, **runtime.environment()},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    page = DOCS_DIR / "static_index.html"
    return page if completed.returncode == 0 and page.exists() else None
