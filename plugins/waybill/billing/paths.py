"""Where each ``post_billing`` run writes its report, GX Data Docs and gate summary.

Billing decides the folder; the quality gate is handed it (``QualityGateOperator(run_folder=…)``)
and writes its file data context and summary (:data:`waybill.quality.outcomes.SUMMARY_FILE`) there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from waybill import runtime
from waybill.quality.outcomes import SUMMARY_FILE

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def reports_root() -> Path:
    """``$WAYBILL_BUILD_DIR/reports/billing`` (default ``build/reports/billing``)."""
    return Path(os.environ.get("WAYBILL_BUILD_DIR", runtime.BUILD_DIR)) / "reports" / "billing"


def run_folder_name(run_id: str) -> str:
    """A file-system-safe folder name for an Airflow run id (``:``/``+`` become ``_``)."""
    return _UNSAFE.sub("_", run_id).strip("_") or "run"


def run_folder(run_id: str) -> Path:
    """The run's report folder (created if missing)."""
    folder = reports_root() / run_folder_name(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def gate_summary_path(run_id: str) -> Path:
    """The gate's outcome JSON written by :class:`waybill.quality.actions.GateSummaryAction`."""
    return run_folder(run_id) / SUMMARY_FILE
