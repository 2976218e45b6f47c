"""Where each ``post_billing`` run publishes its report, GX Data Docs and gate summary.

Billing decides the place, ``<artifacts>/billing/<run>/`` (:func:`waybill.artifacts.root`:
object storage, or ``build/reports`` by default); the quality gate is handed it
(``QualityGateOperator(run_folder=…)``) and publishes its summary
(:data:`waybill.quality.outcomes.SUMMARY_FILE`) and Data Docs there, where the report task reads
them on whichever worker it runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from waybill import artifacts
from waybill.quality.outcomes import SUMMARY_FILE

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def reports_root() -> ObjectStoragePath:
    """``<artifacts>/billing`` (default ``$WAYBILL_BUILD_DIR/reports/billing``)."""
    return artifacts.root() / "billing"


def run_folder_name(run_id: str) -> str:
    """A file-system-safe folder name for an Airflow run id (``:``/``+`` become ``_``)."""
    return _UNSAFE.sub("_", run_id).strip("_") or "run"


def run_folder(run_id: str) -> ObjectStoragePath:
    """The run's report folder (folders are created as files are written)."""
    return reports_root() / run_folder_name(run_id)


def gate_summary_path(run_id: str) -> ObjectStoragePath:
    """The gate's outcome JSON published by :class:`waybill.quality.gate_operator.QualityGateOperator`."""
    return run_folder(run_id) / SUMMARY_FILE
