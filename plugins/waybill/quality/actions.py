"""A GX checkpoint action that writes the gate's outcomes (with each rule's meta) to a JSON file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from great_expectations.checkpoint.actions import ValidationAction

from waybill.quality import outcomes

if TYPE_CHECKING:
    from great_expectations.checkpoint.actions import ActionContext
    from great_expectations.checkpoint.checkpoint import CheckpointResult


class GateSummaryAction(ValidationAction):
    """Write :class:`~waybill.quality.outcomes.Outcome` rows to ``path`` after every run.

    Runs after ``UpdateDataDocsAction`` (GX orders that one first), so each outcome links to
    its validation's Data Docs page.
    """

    type: Literal["waybill_gate_summary"] = "waybill_gate_summary"
    path: str

    def run(
        self, checkpoint_result: CheckpointResult, action_context: ActionContext | None = None
    ) -> dict:
        """Write the summary; return ``{"path": ..., "failed": n}``."""
        pages = self._get_data_docs_pages_from_prior_action(action_context) or {}
        docs: dict[str, str] = {}
        for identifier, sites in pages.items():
            url = next(iter(sites.values()), None) if sites else None
            suite = identifier.expectation_suite_identifier.name
            if url:
                docs[suite] = url
        found = outcomes.from_checkpoint_result(checkpoint_result, docs)
        outcomes.write(found, Path(self.path))
        return {"path": self.path, "failed": sum(not o.success for o in found)}
