"""Invoice documents as the ERP receives them, built from ``marts.fct_invoice_lines``."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

INVOICE_LINES_SQL = """
    select
        invoice_id,
        customer_id,
        currency,
        min(invoice_date)::text as invoice_date,
        jsonb_agg(
            jsonb_build_object(
                'line_number', invoice_line_number,
                'shipment_reference', order_number,
                'charge_code', charge_code,
                'description', description,
                'amount', to_char(amount, 'FM999999999990.00')
            )
            order by invoice_line_number
        ) as lines,
        sum(amount) as total_amount
    from marts.fct_invoice_lines
    group by invoice_id, customer_id, currency
    order by invoice_id
"""


def invoice_body(
    invoice_id: str, customer_id: str, currency: str, invoice_date: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return the ERP invoice document; ``total_amount`` is the sum of the lines, as a 2-decimal string."""
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0"))
    return {
        "invoice_number": invoice_id,
        "customer_id": customer_id,
        "currency": currency,
        "invoice_date": invoice_date,
        "total_amount": f"{total:.2f}",
        "lines": lines,
    }


def body_sha256(body: dict[str, Any]) -> str:
    """Hash a body canonically (sorted keys, no whitespace), so the same invoice hashes the same."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def billable_invoices(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Read every invoice in the billing mart as ERP documents (one set-based query)."""
    with conn.cursor() as cur:
        cur.execute(INVOICE_LINES_SQL)
        return [
            invoice_body(invoice_id, customer_id, currency, invoice_date, lines)
            for invoice_id, customer_id, currency, invoice_date, lines, _total in cur
        ]
