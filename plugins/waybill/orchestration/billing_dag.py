"""Build ``post_billing``: the GX gate, the gate's decision (holds + outbox), posting, the report."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import DAG, task
from airflow.task.trigger_rule import TriggerRule

from waybill.orchestration.assets import MARTS_BILLING
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.quality.gate_operator import QualityGateOperator

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator


def _billing_gate_checkpoint(context):
    from expectations.checkpoints import billing_gate_checkpoint

    return billing_gate_checkpoint(context)


def build_billing_dag(doc_md: str | None = None) -> DAG:
    """Return the ``post_billing`` DAG, scheduled on the billing mart's Asset."""
    with DAG(
        dag_id="post_billing",
        description="Gate invoices with Great Expectations, hold the bad ones, post the rest once",
        schedule=[MARTS_BILLING],
        tags=["billing", "quality"],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:
        # The GX provider's operator base is untyped; naming the Airflow type lets `>>` check.
        gate: BaseOperator = QualityGateOperator(
            task_id="gate_billing_ready",
            configure_checkpoint=_billing_gate_checkpoint,
            retries=0,  # a failed gate is a verdict, not a glitch
        )

        @task
        def hold_and_enqueue() -> dict:
            """Hold invoices breaking row rules; queue the rest in the outbox (one transaction)."""
            from airflow.sdk import get_current_context

            from waybill.billing.run import apply_gate

            return apply_gate(get_current_context()["run_id"])

        @task
        def post_to_erp() -> dict:
            """Send pending outbox invoices to the ERP with their Idempotency-Keys."""
            from airflow.sdk import get_current_context

            from waybill.billing.run import post_invoices

            return post_invoices(get_current_context()["run_id"])

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def write_report() -> str:
            """Write the finance report for this run, whatever happened upstream."""
            from airflow.sdk import get_current_context

            from waybill.billing.report import write_report as write

            return str(write(get_current_context()["run_id"]))

        # One quick retry (the house minimum); failing again is the point.
        @task(trigger_rule=TriggerRule.ONE_FAILED, retries=1, retry_delay=timedelta(seconds=30))
        def fail_run() -> None:
            """Fail the run when any step failed (the report, a leaf, succeeds either way)."""
            from airflow.sdk import get_current_context

            from waybill.billing.run import run_failure_message

            raise RuntimeError(run_failure_message(get_current_context()["run_id"]))

        steps = [gate, hold_and_enqueue(), post_to_erp()]
        steps[0] >> steps[1] >> steps[2]
        steps[2] >> write_report()
        steps >> fail_run()
    return dag
