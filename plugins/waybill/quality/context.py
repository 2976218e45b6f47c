"""A GX file data context per ``post_billing`` run, so its Data Docs stay with that run's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from waybill.quality.paths import run_folder

if TYPE_CHECKING:
    from great_expectations.data_context import FileDataContext


def run_data_context(run_id: str) -> FileDataContext:
    """Return a file context rooted in the run folder (``<run>/gx``; Data Docs under ``uncommitted``)."""
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(run_folder(run_id)))


def current_run_data_context() -> FileDataContext:
    """The run context for the Airflow task being executed (the provider operator's hook)."""
    from airflow.sdk import get_current_context

    return run_data_context(get_current_context()["run_id"])
