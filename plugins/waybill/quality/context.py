"""A GX file data context per gate run, in the folder its caller chose (the run's report folder
for ``post_billing``), so the Data Docs stay with that run's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from great_expectations.data_context import FileDataContext


def run_data_context(folder: Path) -> FileDataContext:
    """Return a file context rooted in ``folder`` (``<folder>/gx``; Data Docs under ``uncommitted``)."""
    import great_expectations as gx

    folder.mkdir(parents=True, exist_ok=True)
    return gx.get_context(mode="file", project_root_dir=str(folder))
