"""Checkpoints: which suite runs on which warehouse table, and what happens with the results.

The warehouse is registered with ``add_or_update_sql`` (``add_postgres`` rejects the embedded
server's socket URL) as the quality role, through an environment reference
(:func:`waybill.quality.context.warehouse_url_reference`) so the URL's password stays out of
GX's files. Every checkpoint updates the
context's Data Docs and writes the gate summary (:class:`GateSummaryAction`) next to them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import great_expectations as gx
from great_expectations.datasource.fluent import SQLDatasource

from expectations.suites import billing_documents, billing_ready, warehouse_health
from waybill.quality.actions import GateSummaryAction
from waybill.quality.context import warehouse_url_reference

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

DATASOURCE = "warehouse"
GATE_CHECKPOINT = "billing_gate"


def table_batch(context: AbstractDataContext, schema: str, table: str):
    """Return a whole-table batch definition for ``schema.table`` in the warehouse."""
    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = None
    reference = warehouse_url_reference()
    if not isinstance(source, SQLDatasource) or str(source.connection_string) != reference:
        # add_or_update replaces the datasource with its assets: only when it is new or moved.
        source = context.data_sources.add_or_update_sql(
            name=DATASOURCE, connection_string=reference
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


def validation(
    context: AbstractDataContext, suite: gx.ExpectationSuite, schema: str, table: str
) -> gx.ValidationDefinition:
    """Register ``suite`` against ``schema.table`` as a validation definition named after the suite."""
    saved = context.suites.add_or_update(suite)
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=f"{suite.name}:{schema}.{table}",
            data=table_batch(context, schema, table),
            suite=saved,
        )
    )


def checkpoint(
    context: AbstractDataContext,
    name: str,
    validations: list[gx.ValidationDefinition],
    summary_path: Path,
) -> gx.Checkpoint:
    """A checkpoint over ``validations`` that updates Data Docs and writes the gate summary."""
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=validations,
            actions=[
                gx.checkpoint.UpdateDataDocsAction(name="update_data_docs"),
                GateSummaryAction(name="gate_summary", path=str(summary_path)),
            ],
            # COMPLETE: unexpected-rows rules return their rows (GX caps them at 200) as examples.
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 20},
        )
    )


def billing_gate_checkpoint(
    context: AbstractDataContext,
    *,
    marts_schema: str = billing_ready.SCHEMA,
    ops_schema: str = warehouse_health.SCHEMA,
) -> gx.Checkpoint:
    """The ``post_billing`` gate: ``billing_ready`` on the invoice lines, ``billing_documents``
    on the ERP documents queued so far, and ``warehouse_health``.

    The summary lands in ``<context root>/../gate.json`` (the run folder, for a run context).
    """
    root = Path(context.root_directory).parent if context.root_directory else Path.cwd()
    return checkpoint(
        context,
        GATE_CHECKPOINT,
        [
            validation(
                context,
                billing_ready.build_suite(schema=marts_schema),
                marts_schema,
                billing_ready.TABLE,
            ),
            validation(
                context,
                billing_documents.build_suite(schema=ops_schema),
                ops_schema,
                billing_documents.TABLE,
            ),
            validation(
                context,
                warehouse_health.build_suite(schema=ops_schema),
                ops_schema,
                warehouse_health.TABLE,
            ),
        ],
        root / "gate.json",
    )


def billing_ready_checkpoint(context: AbstractDataContext) -> gx.Checkpoint:
    """Kept for callers of the walking skeleton: the full billing gate."""
    return billing_gate_checkpoint(context)
