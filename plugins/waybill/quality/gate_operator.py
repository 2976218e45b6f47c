"""The billing gate as an Airflow operator: the GX provider's checkpoint operator, plus severity.

The provider operator fails on any failed expectation. Billing needs three outcomes instead:
a critical batch-scope failure fails the task with a message naming the expectation and its
count (nothing posts); row-scope failures let the run go on (the next task holds those
invoices); warnings are reported. The outcomes, with each rule's meta, come from the run's gate
summary (:class:`~waybill.quality.actions.GateSummaryAction`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowException
from great_expectations_provider.common.errors import GXValidationFailed
from great_expectations_provider.operators.validate_checkpoint import GXValidateCheckpointOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


class GateFailed(AirflowException):
    """A critical batch-level expectation failed: the message names it and its count."""


class QualityGateOperator(GXValidateCheckpointOperator):
    """Run a checkpoint in the run's GX file context; fail only on critical batch-scope rules."""

    def __init__(self, **kwargs: Any) -> None:
        from waybill.quality.context import current_run_data_context

        kwargs.setdefault("context_type", "file")
        kwargs.setdefault("configure_file_data_context", current_run_data_context)
        super().__init__(**kwargs)

    def execute(self, context: Context) -> dict:
        """Validate, then stop, or pass the counts of row failures and warnings downstream."""
        from waybill.billing.run import record_gate
        from waybill.quality import outcomes
        from waybill.quality.paths import gate_summary_path

        run_id = context["run_id"]
        summary = gate_summary_path(run_id)
        summary.unlink(missing_ok=True)
        started = time.monotonic()
        try:
            super().execute(context)
        except GXValidationFailed as exc:
            log.info("some expectations failed; checking their severity (%s)", exc)
        seconds = time.monotonic() - started
        found = outcomes.read(summary)
        stop = outcomes.stop_message(found)
        record_gate(run_id, passed=stop is None, message=stop, seconds=seconds)
        if stop:
            raise GateFailed(stop)
        failed = [o for o in found if not o.success]
        for o in failed:
            log.warning("%s %s.%s: %s unexpected", o.severity, o.suite, o.rule, o.unexpected_count)
        suites = sorted({o.suite for o in found})
        return {
            # The provider's result shape (success, per-validation statistics), for readers of XCom.
            "success": not failed,
            "validation_results": [
                {
                    "suite": suite,
                    "statistics": {
                        "evaluated_expectations": sum(o.suite == suite for o in found),
                        "successful_expectations": sum(
                            o.suite == suite and o.success for o in found
                        ),
                    },
                }
                for suite in suites
            ],
            "expectations": len(found),
            "failed_row_rules": sorted(o.rule for o in failed if o.scope == "row"),
            "failed_warnings": sorted(o.rule for o in failed if o.severity == "warning"),
            "gate_seconds": round(seconds, 3),
        }
