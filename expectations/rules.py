"""Rules: one SQL text per check, used twice — as a GX expectation and by the gate's decision.

A :class:`SqlRule` is a query that returns the rows breaking the rule, as ``(key, observed_value)``
(``key`` is ``invoice_id`` for billing rules, the source for health rules). Great Expectations
runs it as an ``UnexpectedRowsExpectation`` (validation, Data Docs, counts); the billing gate runs
the very same text set-based in SQL to write every held invoice, so holds never depend on GX's
200-row sample of unexpected rows. ``{batch}`` is the validated table, ``{schema}`` the schema
of the tables the rule joins to.

Every expectation carries ``meta``: ``rule`` (its name, the hold reason), ``severity``
(``critical`` stops or holds, ``warning`` is reported only) and ``scope`` (``batch``: a failure
is about the whole run; ``row``: it holds just the rows — invoices — that break it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import great_expectations.expectations as gxe

Severity = Literal["critical", "warning"]
Scope = Literal["batch", "row"]


def rule_meta(rule: str, severity: Severity, scope: Scope) -> dict[str, str]:
    """Return the ``meta`` every Waybill expectation carries."""
    return {"rule": rule, "severity": severity, "scope": scope}


@dataclass(frozen=True)
class SqlRule:
    """A named check whose ``query`` selects ``(<key>, observed_value)`` for each breaking row."""

    name: str
    severity: Severity
    scope: Scope
    description: str
    query: str

    def render(self, schema: str) -> str:
        """The query with ``{schema}`` filled in and ``{batch}`` left for GX."""
        return self.query.replace("{schema}", schema)

    def sql(self, batch: str, schema: str) -> str:
        """The query runnable as plain SQL against ``batch`` (``schema.table``)."""
        return self.render(schema).replace("{batch}", batch)

    def expectation(self, schema: str) -> gxe.UnexpectedRowsExpectation:
        """The rule as a GX expectation (its meta says rule, severity and scope)."""
        return gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=self.render(schema),
            description=self.description,
            meta=rule_meta(self.name, self.severity, self.scope),
        )
