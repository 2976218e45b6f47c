"""Build ``backfill_source``: re-ingest a closed interval of one source entity, on demand."""

from __future__ import annotations

from airflow.sdk import DAG, Param, task

from waybill.orchestration.assets import all_raw_assets
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.orchestration.ingest_dag import TASK_TIMEOUT


def build_backfill_dag(doc_md: str | None = None) -> DAG:
    """Return the ``backfill_source`` DAG: unscheduled, triggered with the interval as params.

    Its task emits the raw Assets, so ``transform_warehouse`` rebuilds what reads them; billing
    then follows as after any ingest (and posts nothing twice).
    """
    with DAG(
        dag_id="backfill_source",
        description="Re-ingest one source entity's records updated in [from, to] (idempotent)",
        schedule=None,
        tags=["ingest", "backfill"],
        doc_md=doc_md,
        params={
            "source": Param("erp", type="string", description="a source of sources.yaml"),
            "entity": Param("orders", type="string", description="one of its entities"),
            "from": Param(type="string", format="date", description="first UTC day"),
            "to": Param(type="string", format="date", description="last UTC day (included)"),
        },
        **DAG_KWARGS,
    ) as dag:

        @task(outlets=all_raw_assets(), execution_timeout=TASK_TIMEOUT)
        def backfill() -> dict:
            """Land the interval's new or changed records; the watermark stays where it was."""
            from datetime import date

            from airflow.sdk import get_current_context

            from waybill.backfill import backfill_entity

            context = get_current_context()
            params = context["params"]
            return backfill_entity(
                params["source"],
                params["entity"],
                date.fromisoformat(params["from"]),
                date.fromisoformat(params["to"]),
                run_id=context["run_id"],
            )

        backfill()
    return dag
