"""Build ``sync_crm``: the marts' shipment statuses and exception cases to the CRM."""

from __future__ import annotations

from airflow.sdk import DAG, task

from waybill.orchestration.assets import MARTS_BILLING
from waybill.orchestration.defaults import DAG_KWARGS


def build_crm_dag(doc_md: str | None = None) -> DAG:
    """Return the ``sync_crm`` DAG, scheduled on the marts' Asset (emitted by the transform)."""
    with DAG(
        dag_id="sync_crm",
        description="Reverse ETL: customer-visible status changes and exception cases to the CRM",
        schedule=[MARTS_BILLING],
        tags=["crm", "reverse-etl"],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:

        @task
        def sync() -> dict:
            """Send what changed since the last acknowledged sync; record each batch's outcome."""
            from airflow.sdk import get_current_context

            from waybill.crm.sync import run_sync

            return run_sync(get_current_context()["run_id"])

        sync()
    return dag
