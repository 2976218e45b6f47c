"""Build ``reconcile_billing``: compare what the ERP holds with the billing outbox."""

from __future__ import annotations

from airflow.sdk import DAG, task

from waybill.orchestration.defaults import DAG_KWARGS


def build_reconcile_dag(doc_md: str | None = None) -> DAG:
    """Return the ``reconcile_billing`` DAG (daily; a failed run means the ERP and outbox differ)."""
    with DAG(
        dag_id="reconcile_billing",
        description="Three-way: mart vs outbox vs ERP documents (missing, duplicated, orphan, drift)",
        schedule="@daily",
        tags=["billing", "reconciliation"],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:

        @task
        def reconcile() -> dict:
            """List the ERP's invoices and write each discrepancy to ops.reconciliation."""
            from airflow.sdk import get_current_context

            from waybill.billing.reconcile import reconcile as run

            return run(get_current_context()["run_id"])

        reconcile()
    return dag
