"""Run ``dbt source freshness`` and read its verdict for every source table of the project.

Tables without freshness are reported as ``exempt`` with the reason their yml records
(``meta.freshness_exempt``), so every source table has a row.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from waybill import runtime

HOURS_PER = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}
_LOADER_DAG = re.compile(r"\((\w+)\)")


@dataclass
class SourceFreshness:
    """dbt's freshness verdict on one source table."""

    source_name: str
    table_name: str
    relation: str
    ingest_dag_id: str | None
    status: str  # pass | warn | error | runtime error | exempt
    exempt_reason: str | None = None
    measure: str | None = None
    last_loaded_at: str | None = None
    hours_since_loaded: float | None = None
    warn_after_hours: float | None = None
    error_after_hours: float | None = None
    message: str | None = None

    @property
    def name(self) -> str:
        """``source.table``, as dbt and the alerts name it."""
        return f"{self.source_name}.{self.table_name}"


def source_freshness() -> list[SourceFreshness]:
    """Run ``dbt source freshness`` (as the transformer) in a private target folder and return
    one verdict per source table of the manifest, sorted by name.

    Raises ``RuntimeError`` with dbt's output when it wrote no results (a project or connection
    error); a table dbt could not measure is a ``runtime error`` row, not an exception.
    """
    with tempfile.TemporaryDirectory(prefix="waybill-freshness-") as folder:
        target = Path(folder)
        parsed = runtime.DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
        if parsed.exists():  # dbt re-parses only what changed since the project's last parse
            shutil.copy(parsed, target / parsed.name)
        completed = subprocess.run(
            [
                str(runtime.DBT_EXECUTABLE),
                "source",
                "freshness",
                "--no-version-check",
                "--target-path",
                str(target),
                "--output",
                str(target / "sources.json"),
            ],
            cwd=runtime.DBT_PROJECT_DIR,
            env={**os.environ, **runtime.environment()},
            capture_output=True,
            text=True,
            check=False,
        )
        print(completed.stdout[-20000:])  # dbt's own report, into the task log
        results_path = target / "sources.json"
        if not results_path.exists():
            raise RuntimeError(
                f"dbt source freshness wrote no results (exit {completed.returncode}):\n"
                f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
            )
        results = json.loads(results_path.read_text())["results"]
        manifest = json.loads((target / "manifest.json").read_text())
    return verdicts(manifest, results)


def verdicts(manifest: dict[str, Any], results: list[dict[str, Any]]) -> list[SourceFreshness]:
    """Combine the manifest's source tables with dbt's freshness ``results`` (``sources.json``)."""
    by_id = {r["unique_id"]: r for r in results}
    rows = []
    for unique_id, node in sorted(manifest["sources"].items()):
        loader = _LOADER_DAG.search(node.get("loader") or "")
        row = SourceFreshness(
            source_name=node["source_name"],
            table_name=node["name"],
            relation=f"{node['schema']}.{node['identifier']}",
            ingest_dag_id=loader.group(1) if loader else None,
            status="exempt",
            measure=(
                "last successful load"
                if node.get("loaded_at_query")
                else node.get("loaded_at_field")
            ),
        )
        result = by_id.get(unique_id)
        if result is None:
            meta = {**node.get("source_meta", {}), **node.get("meta", {})}
            row.exempt_reason = meta.get("freshness_exempt") or "no freshness configured"
            row.measure = None
        else:
            row.status = result["status"]
            row.message = result.get("error") or result.get("message")
            row.last_loaded_at = result.get("max_loaded_at")
            ago = result.get("max_loaded_at_time_ago_in_s")
            row.hours_since_loaded = round(ago / 3600, 2) if ago is not None else None
            criteria = result.get("criteria") or (node.get("freshness") or {})
            row.warn_after_hours = _hours(criteria.get("warn_after"))
            row.error_after_hours = _hours(criteria.get("error_after"))
        rows.append(row)
    return rows


def _hours(threshold: dict[str, Any] | None) -> float | None:
    if not threshold or not threshold.get("count") or not threshold.get("period"):
        return None
    return threshold["count"] * HOURS_PER[threshold["period"]]
