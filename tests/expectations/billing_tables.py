"""Small invoice marts (lines, headers, customers) in a scratch schema, shaped like the contract."""

from __future__ import annotations

from typing import Any

from waybill import warehouse

LINE_COLUMNS = (
    "invoice_id",
    "invoice_line_number",
    "customer_id",
    "currency",
    "invoice_date",
    "charge_code",
    "description",
    "amount",
    "shipment_id",
    "order_number",
    "tracking_number",
    "contract_id",
    "rate_card_id",
    "quantity",
    "unit_rate",
    "charge_id",
)

DDL = """
create table {s}.fct_invoice_lines (
    invoice_id text, invoice_line_number integer, customer_id text, currency text,
    invoice_date date, charge_code text, description text, amount numeric(14, 2),
    shipment_id text, order_number text, tracking_number text, contract_id text,
    rate_card_id text, quantity numeric, unit_rate numeric, charge_id text
);
create table {s}.fct_freight_charges (charge_id text, contract_amount numeric(14, 2));
create table {s}.fct_invoices (
    invoice_id text, shipment_id text, customer_id text, currency text, invoice_date date,
    total_amount numeric(14, 2), line_count integer, delivered_at timestamptz,
    pod_received_at timestamptz
);
create table {s}.dim_customers (
    customer_id text, currency text, is_on_credit_hold boolean, credit_hold_reason text
);
"""


def line(invoice: str, number: int, amount: str, **overrides: Any) -> dict[str, Any]:
    """One clean invoice line of ``invoice`` (customer C0001, USD, on contract)."""
    base = {
        "invoice_id": invoice,
        "invoice_line_number": number,
        "customer_id": "C0001",
        "currency": "USD",
        "invoice_date": "2025-01-20",
        "charge_code": "LINEHAUL" if number == 1 else "FUEL",
        "description": "Linehaul" if number == 1 else "Fuel surcharge",
        "amount": amount,
        "shipment_id": f"SH-{invoice}",
        "order_number": f"SO-{invoice}",
        "tracking_number": f"1Z{invoice}",
        "contract_id": "CT-C0001-01",
        "rate_card_id": "RC-C0001-01",
        "quantity": "1",
        "unit_rate": amount,
        "charge_id": f"{invoice}-{number:02d}",
    }
    return base | overrides


def clean_invoices(count: int, prefix: str = "INV-T") -> list[dict[str, Any]]:
    """``count`` clean two-line invoices."""
    lines = []
    for i in range(1, count + 1):
        invoice = f"{prefix}{i:04d}"
        lines += [line(invoice, 1, "100.00"), line(invoice, 2, "12.50")]
    return lines


def create(
    schema: str,
    lines: list[dict[str, Any]],
    headers: list[dict[str, Any]] | None = None,
    customers: list[tuple] | None = None,
) -> None:
    """Create and fill the three tables; headers default to one per invoice with the line total."""
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(DDL.format(s=schema))
        with (
            conn.cursor() as cur,
            cur.copy(
                f"copy {schema}.fct_invoice_lines ({', '.join(LINE_COLUMNS)}) from stdin"
            ) as copy,
        ):
            for row in lines:
                copy.write_row([row[c] for c in LINE_COLUMNS])
        if headers is None:
            conn.execute(
                f"""
                insert into {schema}.fct_invoices
                select invoice_id, min(shipment_id), min(customer_id), min(currency),
                       min(invoice_date), sum(amount), count(*),
                       '2025-01-18T12:00:00Z', '2025-01-19T12:00:00Z'
                from {schema}.fct_invoice_lines group by invoice_id
                """
            )
        else:
            for h in headers:
                cols = ", ".join(h)
                conn.execute(
                    f"insert into {schema}.fct_invoices ({cols}) values"
                    f" ({', '.join(['%s'] * len(h))})",
                    list(h.values()),
                )
        # The contract price of each charge: what the line says, unless a test changes it.
        conn.execute(
            f"insert into {schema}.fct_freight_charges"
            f" select charge_id, coalesce(amount, 0) from {schema}.fct_invoice_lines"
            f" where rate_card_id is not null"
        )
        for customer in customers or [
            ("C0001", "USD", False, None),
            ("C0002", "CAD", True, "past_due_balance"),
        ]:
            conn.execute(f"insert into {schema}.dim_customers values (%s, %s, %s, %s)", customer)
