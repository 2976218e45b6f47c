"""``billing_documents``: the rules every ERP document of an invoice thread obeys.

Validated against ``ops.billing_outbox`` (one row per document). The planner applies the same
rule SQL to the documents it has just queued, in its own transaction, and holds any that break
one (status ``held``, the rule as its reason); the gate validates them all, so a broken
document queued earlier stops posting (batch scope) instead of reaching the ERP.

Live documents are those at, possibly at, or bound for the ERP: every status but cancelled,
failed, rejected and held.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.rules import SqlRule

SUITE_NAME = "billing_documents"
SCHEMA = "ops"
TABLE = "billing_outbox"
_LIVE = "status not in ('cancelled', 'failed', 'rejected', 'held')"

RULES: tuple[SqlRule, ...] = (
    SqlRule(
        "credit_without_invoice",
        "critical",
        "batch",
        "A credit note references a live invoice of its own thread.",
        f"""
        select credit.invoice_id,
            'credit note v' || credit.version || ' references v'
            || coalesce(credit.original_version::text, '?')
            || coalesce(' (' || original.kind || ', ' || original.status || ')', ' (missing)')
            as observed_value
        from {{batch}} as credit
        left join {{batch}} as original
            on credit.invoice_id = original.invoice_id
            and credit.original_version = original.version
        where credit.kind = 'credit_note' and credit.{_LIVE}
            and (
                original.invoice_id is null
                or original.kind <> 'invoice'
                or original.status in ('cancelled', 'failed', 'rejected', 'held')
            )
        """,
    ),
    SqlRule(
        "credit_exceeds_billed",
        "critical",
        "batch",
        "The credit notes against an invoice never exceed what it billed.",
        f"""
        select original.invoice_id,
            'v' || original.version || ' billed ' || original.total_amount::text
            || ', credited ' || sum(credit.total_amount)::text as observed_value
        from {{batch}} as original
        inner join {{batch}} as credit
            on credit.invoice_id = original.invoice_id
            and credit.original_version = original.version
            and credit.kind = 'credit_note'
            and credit.{_LIVE}
        where original.kind = 'invoice'
        group by original.invoice_id, original.version, original.total_amount
        having sum(credit.total_amount) > original.total_amount
        """,
    ),
    SqlRule(
        "non_positive_document",
        "critical",
        "batch",
        "Every live document's total is positive (a credit is its own kind, not a negative invoice).",
        f"""
        select invoice_id, kind || ' v' || version || ': ' || total_amount::text
            as observed_value
        from {{batch}}
        where {_LIVE} and total_amount <= 0
        """,
    ),
    SqlRule(
        "dispute_credited_twice",
        "critical",
        "batch",
        "A dispute is credited by at most one live credit note.",
        f"""
        select min(invoice_id) as invoice_id,
            dispute_id || ' on ' || count(*)::text || ' credit notes' as observed_value
        from {{batch}}
        where dispute_id is not null and {_LIVE}
        group by dispute_id
        having count(*) > 1
        """,
    ),
)


def build_suite(schema: str = SCHEMA) -> gx.ExpectationSuite:
    """Return the suite for the documents in ``schema``.``billing_outbox``."""
    return gx.ExpectationSuite(
        name=SUITE_NAME, expectations=[rule.expectation(schema) for rule in RULES]
    )
