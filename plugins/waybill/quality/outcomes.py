"""What a gate run found: one :class:`Outcome` per expectation, with the rule's meta.

The GX provider's XCom result drops ``meta``; the gate needs it (severity and scope decide
between stop, hold and report), so :class:`~waybill.quality.actions.GateSummaryAction` writes
these outcomes from the full checkpoint result.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath
    from great_expectations.checkpoint.checkpoint import CheckpointResult

# The summary's file name in the folder the gate is given (the GX context's project root).
SUMMARY_FILE = "gate.json"
# The GX Data Docs site, relative to that folder (a file context's local site).
DATA_DOCS_SITE = "gx/uncommitted/data_docs/local_site"


@dataclass
class Outcome:
    """One expectation's result in one validation."""

    suite: str
    rule: str
    severity: str
    scope: str
    expectation_type: str
    description: str
    success: bool
    unexpected_count: int | None
    examples: list[Any]
    error: str | None = None
    data_docs: str | None = None

    @property
    def stops_posting(self) -> bool:
        """A failed critical batch-scope rule stops the whole run."""
        return not self.success and self.severity == "critical" and self.scope == "batch"


def _count(result: dict[str, Any]) -> int | None:
    for key in ("unexpected_count", "observed_value"):
        value = result.get(key)
        if isinstance(value, int):
            return value
    return None


def _examples(result: dict[str, Any]) -> list[Any]:
    rows = (result.get("details") or {}).get("unexpected_rows")
    if rows:
        return [dict(row) if not isinstance(row, dict) else row for row in rows[:5]]
    return list(result.get("partial_unexpected_list") or [])[:5]


def from_checkpoint_result(
    checkpoint_result: CheckpointResult, data_docs: dict[str, str] | None = None
) -> list[Outcome]:
    """Flatten a checkpoint result into outcomes; ``data_docs`` maps suite name to its page."""
    outcomes: list[Outcome] = []
    for suite_result in checkpoint_result.run_results.values():
        suite = suite_result.suite_name
        for result in suite_result.results:
            config = result.expectation_config
            if config is None:  # GX sets it on every result of a checkpoint run
                raise ValueError(f"suite {suite!r}: a validation result has no expectation config")
            meta = config.meta or {}
            info = result.exception_info or {}
            raised = info.get("raised_exception") if isinstance(info, dict) else False
            outcomes.append(
                Outcome(
                    suite=suite,
                    rule=str(meta.get("rule", config.type)),
                    severity=str(meta.get("severity", "critical")),
                    scope=str(meta.get("scope", "batch")),
                    expectation_type=config.type,
                    description=config.description or "",
                    success=bool(result.success),
                    unexpected_count=_count(result.result or {}),
                    examples=json.loads(json.dumps(_examples(result.result or {}), default=str)),
                    error=str(info.get("exception_message")) if raised else None,
                    data_docs=(data_docs or {}).get(suite),
                )
            )
    return outcomes


def relative_links(outcomes: list[Outcome], folder: Path) -> list[Outcome]:
    """``outcomes`` with each Data Docs link (a ``file:`` URL under ``folder``) made relative to
    ``folder``, so the links hold wherever the folder is published."""
    for o in outcomes:
        if o.data_docs:
            page = Path(unquote(urlparse(o.data_docs).path))
            if page.is_relative_to(folder):
                o.data_docs = page.relative_to(folder).as_posix()
    return outcomes


def write(outcomes: list[Outcome], path: Path | ObjectStoragePath) -> None:
    """Write outcomes as JSON (the report and the gate read it back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(o) for o in outcomes], indent=1, default=str))


def read(path: Path | ObjectStoragePath) -> list[Outcome]:
    """Read outcomes written by :func:`write`; raises ``FileNotFoundError`` if the gate never ran."""
    return [Outcome(**item) for item in json.loads(path.read_text())]


def stop_message(outcomes: list[Outcome]) -> str | None:
    """The reason posting stops, naming each failed critical batch rule and its count; or None."""
    stops = [o for o in outcomes if o.stops_posting]
    if not stops:
        return None
    parts = []
    for o in stops:
        what = f"error: {o.error}" if o.error else f"{o.unexpected_count} unexpected"
        parts.append(f"{o.suite}.{o.rule} ({o.expectation_type}) failed, {what}")
    return "critical expectation failed, nothing posted this run: " + "; ".join(parts)
