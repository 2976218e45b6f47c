"""Build ``post_billing``: the GX gate, the gate's decision (holds + outbox), posting, finance's
approval of the documents over the limit, the report."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import DAG, task
from airflow.task.trigger_rule import TriggerRule

from waybill.billing.approvals import response_timeout
from waybill.billing.paths import run_folder
from waybill.orchestration.assets import MARTS_BILLING
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.quality.gate_operator import VERDICT_XCOM_KEY, QualityGateOperator

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from waybill.billing.approvals import Waiting

log = logging.getLogger(__name__)

LIST_APPROVALS = "list_approvals"


def _billing_gate_checkpoint(context):
    from expectations.checkpoints import billing_gate_checkpoint

    return billing_gate_checkpoint(context)


class FinanceApprovalOperator(HITLOperator):
    """One Required Action per run: each document waiting for approval is one option.

    The documents come from the XCom of ``documents_task_id`` (a list of
    :meth:`~waybill.billing.approvals.Waiting.to_xcom`), read again on resume so the answer is
    applied to exactly what finance was shown. Skips when nothing waits. Chosen documents become
    ``pending``, the rest ``held`` (``approval_rejected``); when ``response_timeout`` passes with
    no answer (Airflow resumes the task with a timeout event), all are held
    (``approval_timeout``) and the task succeeds: a timeout is a decision, not a failure.
    """

    # The real options replace this one at run time (HITLOperator needs one at parse time).
    PLACEHOLDER = "(the documents waiting are listed when the run reaches this step)"

    def __init__(self, *, documents_task_id: str, **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Approve ERP documents over the approval limit")
        super().__init__(options=[self.PLACEHOLDER], multiple=True, **kwargs)
        self.documents_task_id = documents_task_id

    def _presented(self, context: Context) -> list[Waiting]:
        from waybill.billing.approvals import Waiting, options

        value = context["ti"].xcom_pull(task_ids=self.documents_task_id) or []
        documents = [Waiting.from_xcom(item) for item in value]
        self.options = options(documents) if documents else [self.PLACEHOLDER]
        return documents

    def execute(self, context: Context) -> Any:
        """Ask finance about this run's waiting documents (skip when there are none)."""
        from airflow.sdk.exceptions import AirflowSkipException
        from airflow.sdk.timezone import utcnow

        from waybill.billing.approvals import request_body

        documents = self._presented(context)
        if not documents:
            raise AirflowSkipException("no document waits for approval")
        deadline = utcnow() + self.response_timeout if self.response_timeout else None
        self.subject = f"Approve {len(documents)} ERP document(s) over the approval limit"
        self.body = request_body(documents, deadline)
        return super().execute(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Apply the answer (or the timeout) to the outbox; return the counts."""
        from airflow.sdk.timezone import utcnow

        from waybill import warehouse
        from waybill.billing.approvals import decide

        documents = self._presented(context)
        timed_out = event.get("error_type") == "timeout" or bool(event.get("timedout"))
        if timed_out:
            chosen: list[str] = []
            decided_by, decided_at = None, utcnow()
        else:
            answer = super().execute_complete(context, event)
            user = answer.get("responded_by_user") or {}
            chosen = answer["chosen_options"]
            decided_by = user.get("name") or user.get("id")
            decided_at = answer["responded_at"]
        with warehouse.connect(role="poster") as conn:
            counts = decide(
                conn,
                documents,
                chosen,
                decided_by=decided_by,
                decided_at=decided_at,
                timed_out=timed_out,
                run_id=context["run_id"],
            )
        self.log.info("finance decided by %s: %s", decided_by or "timeout", counts)
        return {**counts, "decided_by": decided_by, "decided_at": decided_at.isoformat()}


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
            run_folder=run_folder,  # GX Data Docs and the gate summary go with the run's report
            retries=0,  # a failed gate is a verdict, not a glitch
        )

        # Pass or fail, billing records what the gate decided (the gate knows nothing of billing).
        @task(trigger_rule=TriggerRule.ALL_DONE)
        def record_gate_verdict() -> dict | None:
            """Record the gate's verdict (its XCom) in ``ops.billing_runs``; None if it gave none."""
            from airflow.sdk import get_current_context

            from waybill.billing.run import record_gate

            context = get_current_context()
            verdict = context["ti"].xcom_pull(task_ids=gate.task_id, key=VERDICT_XCOM_KEY)
            if verdict is None:
                log.warning("the gate gave no verdict (it crashed before deciding)")
                return None
            record_gate(
                context["run_id"],
                passed=verdict["passed"],
                message=verdict["message"],
                seconds=verdict["seconds"],
            )
            return verdict

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

        @task(task_id=LIST_APPROVALS)
        def list_approvals() -> list[dict]:
            """The documents waiting for finance (what the approval task presents)."""
            from waybill import warehouse
            from waybill.billing.approvals import awaiting

            with warehouse.connect(role="poster") as conn:
                return [doc.to_xcom() for doc in awaiting(conn)]

        approve: BaseOperator = FinanceApprovalOperator(
            task_id="approve_documents",
            documents_task_id=LIST_APPROVALS,
            response_timeout=response_timeout(),
            # A retry (the decision could not be written) asks again: nothing was decided yet.
        )

        @task
        def post_approved() -> dict:
            """Send the documents finance approved in this run (now pending) to the ERP."""
            from airflow.sdk import get_current_context

            from waybill.billing.run import post_invoices

            return post_invoices(get_current_context()["run_id"])

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def write_report() -> str:
            """Write the finance report for this run, whatever happened upstream."""
            from airflow.sdk import get_current_context

            from waybill.billing.report import write_report as write

            return str(write(get_current_context()["run_id"]))

        # Runs only when finance was asked (skipped with the approval step otherwise).
        @task(trigger_rule=TriggerRule.NONE_SKIPPED)
        def refresh_report() -> str:
            """Write the report again once finance's approved documents were posted."""
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

        verdict, enqueue, posted, waiting, approved = (
            record_gate_verdict(),
            hold_and_enqueue(),
            post_to_erp(),
            list_approvals(),
            post_approved(),
        )
        gate >> verdict >> enqueue  # and the gate itself: its failure stops the enqueueing
        gate >> enqueue >> [posted, waiting]
        posted >> write_report()
        waiting >> approve
        [posted, approve] >> approved >> refresh_report()
        [gate, verdict, enqueue, posted, waiting, approve, approved] >> fail_run()
    return dag
