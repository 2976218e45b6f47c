"""Pending outbox rows for sandbox customers, written straight to ``ops.billing_outbox``."""

from __future__ import annotations

import json

from waybill import warehouse
from waybill.billing.invoices import body_sha256, invoice_body


def add_pending(prefix: str, customers: list[dict], count: int, version: int = 1) -> list[str]:
    """Queue ``count`` valid invoices (round-robin over ``customers``); return their ids."""
    ids = []
    with warehouse.connect(autocommit=True) as conn:
        for i in range(count):
            customer = customers[i % len(customers)]
            invoice_id = f"{prefix}{i:04d}"
            lines = [
                {
                    "line_number": 1,
                    "shipment_reference": f"SO-{invoice_id}",
                    "charge_code": "LINEHAUL",
                    "description": "Linehaul",
                    "amount": f"{100 + i}.25",
                }
            ]
            body = invoice_body(
                invoice_id, customer["customer_id"], customer["currency"], "2025-01-20", lines
            )
            conn.execute(
                "insert into ops.billing_outbox (invoice_id, version, idempotency_key,"
                " customer_id, currency, total_amount, body, body_sha256, shipment_id)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    invoice_id,
                    version,
                    f"waybill:{invoice_id}:v{version}",
                    customer["customer_id"],
                    customer["currency"],
                    body["total_amount"],
                    json.dumps(body),
                    body_sha256(body),
                    f"SH-{invoice_id}",
                ),
            )
            ids.append(invoice_id)
    return ids


def statuses(prefix: str) -> dict[str, tuple]:
    """``invoice_id -> (status, erp_document_number, attempts, last_error)`` for ``prefix``."""
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select invoice_id, status, erp_document_number, attempts, last_error"
            " from ops.billing_outbox where invoice_id like %s",
            (f"{prefix}%",),
        ).fetchall()
    return {row[0]: row[1:] for row in rows}
