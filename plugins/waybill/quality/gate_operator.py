"""The billing gate as an Airflow operator: the GX provider's checkpoint operator, plus severity.

The provider operator fails on any failed expectation. Billing needs three outcomes instead:
a critical batch-scope failure fails the task with a message naming the expectation and its
count (nothing posts); row-scope failures let the run go on (the next task holds those
invoices); warnings are reported. The outcomes, with each rule's meta, come from the run's gate
summary (:class:`~waybill.quality.actions.GateSummaryAction`).

The gate knows nothing of what uses it: its caller names where each run's results are
published (an :class:`~airflow.sdk.ObjectStoragePath` under :mod:`waybill.artifacts`, or a local
folder) and records the verdict the gate returns and pushes to XCom (:data:`VERDICT_XCOM_KEY`),
so :mod:`waybill.quality` imports nothing from billing. GX itself runs in a scratch folder of the
task; its Data Docs site and the summary are then copied to that place, so a task on another
worker (the report) reads them there, never from this worker's disk.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowException
from great_expectations_provider.common.errors import GXValidationFailed
from great_expectations_provider.operators.validate_checkpoint import GXValidateCheckpointOperator

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Context, ObjectStoragePath

log = logging.getLogger(__name__)

# The XCom key of the gate's verdict: ``{"passed": bool, "message": str | None, "seconds": float}``,
# pushed before the gate returns or fails, so a downstream task can record it either way.
VERDICT_XCOM_KEY = "gate_verdict"


class GateFailed(AirflowException):
    """A critical batch-level expectation failed: the message names it and its count."""


class QualityGateOperator(GXValidateCheckpointOperator):
    """Run a checkpoint in the run's GX file context; fail only on critical batch-scope rules.

    ``run_folder`` maps a run id to where that run's summary
    (:data:`~waybill.quality.outcomes.SUMMARY_FILE`) and Data Docs
    (:data:`~waybill.quality.outcomes.DATA_DOCS_SITE`) are published: the caller decides where
    reports live.
    """

    def __init__(
        self, *, run_folder: Callable[[str], ObjectStoragePath | Path], **kwargs: Any
    ) -> None:
        # The provider wants its file-context hook now; execute() points it at the run's folder.
        super().__init__(
            context_type="file", configure_file_data_context=_folder_not_chosen, **kwargs
        )
        self.run_folder = run_folder

    def execute(self, context: Context) -> dict:
        """Validate, push the verdict, then stop or pass the counts of row failures downstream.

        Reads the checkpoint's summary in the run's folder; pushes :data:`VERDICT_XCOM_KEY`;
        raises :class:`GateFailed` naming the critical batch expectation that stopped the run.
        """
        from waybill import artifacts
        from waybill.quality import outcomes
        from waybill.quality.context import run_data_context

        target = self.run_folder(context["run_id"])
        with tempfile.TemporaryDirectory(prefix="waybill-gate-") as scratch:
            workdir = Path(scratch)
            self.configure_file_data_context = functools.partial(run_data_context, workdir)
            started = time.monotonic()
            try:
                super().execute(context)
            except GXValidationFailed as exc:
                log.info("some expectations failed; checking their severity (%s)", exc)
            seconds = time.monotonic() - started
            found = outcomes.relative_links(outcomes.read(workdir / outcomes.SUMMARY_FILE), workdir)
            artifacts.publish_tree(
                workdir / outcomes.DATA_DOCS_SITE, target / outcomes.DATA_DOCS_SITE
            )
            outcomes.write(found, target / outcomes.SUMMARY_FILE)
        stop = outcomes.stop_message(found)
        verdict = {"passed": stop is None, "message": stop, "seconds": round(seconds, 3)}
        context["ti"].xcom_push(key=VERDICT_XCOM_KEY, value=verdict)
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
            "verdict": verdict,
        }


def _folder_not_chosen() -> Any:
    """Placeholder for the provider's file-context hook until execute() knows the run."""
    raise RuntimeError("QualityGateOperator.execute() sets the GX file context of each run")
