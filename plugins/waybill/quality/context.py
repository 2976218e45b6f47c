"""A GX file data context per gate run, in a folder its caller chose (the gate's scratch folder;
the gate then publishes the Data Docs with that run's report, see :mod:`waybill.artifacts`).

GX writes its datasources into ``<folder>/gx/great_expectations.yml``; the warehouse's goes there
as ``${WAYBILL_GX_WAREHOUSE_URL}``, which GX substitutes from this process's environment when it
connects (:func:`warehouse_url_reference`), so no password is ever written with the report.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

WAREHOUSE_URL_VARIABLE = "WAYBILL_GX_WAREHOUSE_URL"

if TYPE_CHECKING:
    from pathlib import Path

    from great_expectations.data_context import FileDataContext


def warehouse_url_reference() -> str:
    """Export the quality role's warehouse URL to :data:`WAREHOUSE_URL_VARIABLE` (this process
    only, migrating first if needed) and return the ``${…}`` reference GX stores instead of it.
    """
    from waybill import roles, warehouse

    url = warehouse.sqlalchemy_url(role="quality")
    if os.environ.get(WAREHOUSE_URL_VARIABLE) != url:
        roles.ensure_migrated(role="quality")
        os.environ[WAREHOUSE_URL_VARIABLE] = url
    return "${" + WAREHOUSE_URL_VARIABLE + "}"


def run_data_context(folder: Path) -> FileDataContext:
    """Return a file context rooted in ``folder`` (``<folder>/gx``; Data Docs under ``uncommitted``)."""
    import great_expectations as gx

    warehouse_url_reference()  # before GX reads its config, which refers to the variable
    folder.mkdir(parents=True, exist_ok=True)
    return gx.get_context(mode="file", project_root_dir=str(folder))
