"""``billing_ready``: what must hold before an invoice leaves for the ERP.

Validated against ``marts.fct_invoice_lines`` (the batch), joining the invoice headers
(``fct_invoices``), the rated charges and their contract price (``fct_freight_charges``), the
customers (``dim_customers``) and the outbox. Batch-scope critical rules
stop all posting for the run; row-scope critical rules hold just the invoices that break them
(the rule name is the hold reason finance sees); warnings are reported only.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.rules import SqlRule, rule_meta

SUITE_NAME = "billing_ready"
SCHEMA = "marts"
TABLE = "fct_invoice_lines"
ALLOWED_CURRENCIES = ("USD", "CAD", "EUR", "MXN")
# Amounts are rounded to cents on both sides; anything past a cent is a real difference.
AMOUNT_TOLERANCE = "0.01"
REVIEW_LIMIT = 100_000

_CURRENCIES = ", ".join(f"'{code}'" for code in ALLOWED_CURRENCIES)

BATCH_RULES: tuple[SqlRule, ...] = (
    SqlRule(
        "duplicate_invoice_key",
        "critical",
        "batch",
        "Every invoice id appears once in the invoice headers.",
        """
        select invoice_id, count(*)::text || ' headers' as observed_value
        from {schema}.fct_invoices
        group by invoice_id
        having count(*) > 1
        """,
    ),
    SqlRule(
        "shipment_invoiced_twice",
        "critical",
        "batch",
        "No shipment is billed on two invoices.",
        """
        select
            shipment_id as invoice_id,
            string_agg(distinct invoice_id, ', ') as observed_value
        from {batch}
        where shipment_id is not null
        group by shipment_id
        having count(distinct invoice_id) > 1
        """,
    ),
)

ROW_RULES: tuple[SqlRule, ...] = (
    SqlRule(
        "missing_customer",
        "critical",
        "row",
        "Every invoice line names its customer.",
        "select invoice_id, 'customer_id is null' as observed_value"
        " from {batch} where customer_id is null",
    ),
    SqlRule(
        "missing_amount",
        "critical",
        "row",
        "Every invoice line has an amount.",
        "select invoice_id, 'line ' || invoice_line_number || ': amount is null'"
        " as observed_value from {batch} where amount is null",
    ),
    SqlRule(
        "missing_currency",
        "critical",
        "row",
        "Every invoice line has a currency.",
        "select invoice_id, 'currency is null' as observed_value"
        " from {batch} where currency is null",
    ),
    SqlRule(
        "negative_amount",
        "critical",
        "row",
        "No invoice line amount is below zero.",
        "select invoice_id, charge_code || ' ' || amount::text as observed_value"
        " from {batch} where amount < 0",
    ),
    SqlRule(
        "currency_not_allowed",
        "critical",
        "row",
        f"Currencies are among {', '.join(ALLOWED_CURRENCIES)}.",
        "select invoice_id, currency as observed_value from {batch}"
        f" where currency not in ({_CURRENCIES})",
    ),
    SqlRule(
        "charge_out_of_contract",
        "critical",
        "row",
        "Every charge is on the customer's contract rate card in force on the ship date.",
        """
        select
            lines.invoice_id,
            coalesce(lines.charge_code, '?') || ' not on the contract rate card'
                as observed_value
        from {batch} as lines
        left join {schema}.fct_freight_charges as charges
            on lines.charge_id = charges.charge_id
        where
            lines.contract_id is null
            or lines.rate_card_id is null
            or charges.contract_amount is null
        """,
    ),
    SqlRule(
        "amount_out_of_contract",
        "critical",
        "row",
        "Each line amount equals the contract rate for its charge, to the cent.",
        f"""
        select
            lines.invoice_id,
            lines.charge_code || ' ' || lines.amount::text || ' vs contract '
            || charges.contract_amount::text as observed_value
        from {{batch}} as lines
        inner join {{schema}}.fct_freight_charges as charges
            on lines.charge_id = charges.charge_id
        where abs(lines.amount - charges.contract_amount) > {AMOUNT_TOLERANCE}
        """,
    ),
    SqlRule(
        "totals_mismatch",
        "critical",
        "row",
        "The line amounts add up to the invoice header total.",
        """
        with line_totals as (
            select invoice_id, sum(amount) as line_total
            from {batch}
            group by invoice_id
        )
        select
            line_totals.invoice_id,
            'lines ' || coalesce(line_totals.line_total::text, 'null')
            || ' <> header ' || coalesce(headers.total_amount::text, 'missing')
                as observed_value
        from line_totals
        left join {schema}.fct_invoices as headers
            on line_totals.invoice_id = headers.invoice_id
        where headers.total_amount is distinct from line_totals.line_total
        """,
    ),
    SqlRule(
        "missing_pod",
        "critical",
        "row",
        "Every invoice's shipment is delivered and its proof of delivery received.",
        """
        select distinct
            lines.invoice_id,
            case
                when headers.invoice_id is null then 'no invoice header'
                when headers.delivered_at is null then 'not delivered'
                else 'delivered ' || headers.delivered_at::text || ', no POD'
            end as observed_value
        from {batch} as lines
        left join {schema}.fct_invoices as headers
            on lines.invoice_id = headers.invoice_id
        where headers.delivered_at is null or headers.pod_received_at is null
        """,
    ),
    SqlRule(
        "unknown_customer",
        "critical",
        "row",
        "The invoice's customer exists in the ERP.",
        """
        select distinct lines.invoice_id, lines.customer_id as observed_value
        from {batch} as lines
        left join {schema}.dim_customers as customers
            on lines.customer_id = customers.customer_id
        where lines.customer_id is not null and customers.customer_id is null
        """,
    ),
    SqlRule(
        "credit_hold",
        "critical",
        "row",
        "The invoice's customer is not on credit hold.",
        """
        select distinct
            lines.invoice_id,
            customers.customer_id || ' on credit hold' as observed_value
        from {batch} as lines
        inner join {schema}.dim_customers as customers
            on lines.customer_id = customers.customer_id
        where customers.is_on_credit_hold
        """,
    ),
    SqlRule(
        "currency_mismatch",
        "critical",
        "row",
        "The invoice is in its customer's currency.",
        """
        select distinct
            lines.invoice_id,
            lines.currency || ' <> customer ' || customers.currency
                as observed_value
        from {batch} as lines
        inner join {schema}.dim_customers as customers
            on lines.customer_id = customers.customer_id
        where lines.currency <> customers.currency
        """,
    ),
    SqlRule(
        "shipment_already_billed",
        "critical",
        "row",
        "The shipment has not been sent to the ERP on another invoice.",
        """
        select distinct
            lines.invoice_id,
            'shipment ' || lines.shipment_id || ' already on '
            || outbox.invoice_id as observed_value
        from {batch} as lines
        inner join ops.billing_outbox as outbox
            on lines.shipment_id = outbox.shipment_id
        where
            outbox.invoice_id <> lines.invoice_id
            and outbox.status in ('pending', 'posted', 'conflict')
        """,
    ),
)

RULES: tuple[SqlRule, ...] = BATCH_RULES + ROW_RULES


def build_suite(schema: str = SCHEMA, review_limit: float = REVIEW_LIMIT) -> gx.ExpectationSuite:
    """Return the suite for invoice lines in ``schema`` (tests pass a scratch schema).

    ``review_limit``: a line amount above it is a warning for finance, never a hold.
    """
    return gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["invoice_id", "invoice_line_number"],
                description="Invoice line keys (invoice_id, invoice_line_number) are unique.",
                meta=rule_meta("duplicate_invoice_line_key", "critical", "batch"),
            ),
            *(rule.expectation(schema) for rule in RULES),
            gxe.ExpectColumnValuesToBeBetween(
                column="amount",
                max_value=review_limit,
                description="Line amounts above the review limit are flagged for finance.",
                meta=rule_meta("amount_over_review_limit", "warning", "row"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="shipment_id",
                description="Invoice lines name the shipment they bill.",
                meta=rule_meta("missing_shipment", "warning", "row"),
            ),
        ],
    )
