"""Checkpoints: which suite runs on which warehouse table, and what happens with the results.

The warehouse is registered with ``add_or_update_sql`` (``add_postgres`` rejects the embedded
server's socket URL) from :func:`waybill.warehouse.sqlalchemy_url`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import great_expectations as gx

from expectations.suites import billing_ready
from waybill import warehouse

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

DATASOURCE = "warehouse"


def table_batch(context: AbstractDataContext, schema: str, table: str):
    """Return a whole-table batch definition for ``schema.table`` in the warehouse."""
    source = context.data_sources.add_or_update_sql(
        name=DATASOURCE, connection_string=warehouse.sqlalchemy_url()
    )
    asset_name = f"{schema}.{table}"
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_table_asset(name=asset_name, table_name=table, schema_name=schema)
    try:
        return asset.get_batch_definition("whole_table")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_table("whole_table")


def billing_ready_checkpoint(context: AbstractDataContext) -> gx.Checkpoint:
    """Return the ``billing_ready`` checkpoint over ``marts.fct_invoice_lines``."""
    batch = table_batch(context, billing_ready.SCHEMA, billing_ready.TABLE)
    suite = context.suites.add_or_update(billing_ready.build_suite())
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="billing_ready", data=batch, suite=suite)
    )
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name="billing_ready",
            validation_definitions=[validation],
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
        )
    )
