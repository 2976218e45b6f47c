"""Build ``post_billing``: the GX gate, then the outbox, then posting to the ERP."""

from __future__ import annotations

from airflow.sdk import DAG, task
from great_expectations_provider.operators.validate_checkpoint import GXValidateCheckpointOperator

from waybill.orchestration.assets import MARTS_BILLING
from waybill.orchestration.defaults import DAG_KWARGS


def _billing_ready_checkpoint(context):
    from expectations.checkpoints import billing_ready_checkpoint

    return billing_ready_checkpoint(context)


def build_billing_dag(doc_md: str | None = None) -> DAG:
    """Return the ``post_billing`` DAG, scheduled on the billing mart's Asset."""
    with DAG(
        dag_id="post_billing",
        description="Gate invoices with Great Expectations, then post them to the ERP once",
        schedule=[MARTS_BILLING],
        tags=["billing", "quality"],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:
        gate = GXValidateCheckpointOperator(
            task_id="gate_billing_ready",
            configure_checkpoint=_billing_ready_checkpoint,
            context_type="ephemeral",
            retries=0,
        )

        @task
        def fill_outbox() -> dict:
            """Queue every gated invoice version in the outbox."""
            from airflow.sdk import get_current_context

            from waybill.billing.run import enqueue_invoices

            return enqueue_invoices(run_id=get_current_context()["run_id"])

        @task
        def post_to_erp() -> dict:
            """Send pending outbox invoices to the ERP with their Idempotency-Keys."""
            from waybill.billing.run import post_invoices

            return post_invoices()

        gate >> fill_outbox() >> post_to_erp()
    return dag
