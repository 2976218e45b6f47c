"""The billing outbox: what must reach the ERP, each invoice version once, keyed for idempotency."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from waybill.billing.invoices import body_sha256

if TYPE_CHECKING:
    import psycopg


def enqueue(conn: psycopg.Connection, invoices: list[dict[str, Any]], run_id: str | None) -> int:
    """Add each invoice to ``ops.billing_outbox`` unless the same body is already there.

    An invoice whose body changed while still unposted gets a new version (a new key);
    the superseded pending version is marked failed so that only the latest posts.
    The Idempotency-Key is ``waybill:<invoice_id>:v<version>``: stable across retries and
    reruns, so the ERP bills each version once. Returns the number of new outbox rows.
    Runs in the caller's transaction.
    """
    if not invoices:
        return 0
    rows = [
        (
            inv["invoice_number"],
            inv["customer_id"],
            inv["currency"],
            inv["total_amount"],
            json.dumps(inv),
            body_sha256(inv),
            run_id,
        )
        for inv in invoices
    ]
    with conn.cursor() as cur:
        cur.execute(
            "create temp table waybill_invoices (invoice_id text, customer_id text, currency text,"
            " total_amount numeric, body jsonb, body_sha256 text, run_id text) on commit drop"
        )
        with cur.copy("copy waybill_invoices from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            """
            with latest as (
                select distinct on (invoice_id) invoice_id, version, body_sha256, status
                from ops.billing_outbox
                order by invoice_id, version desc
            ),
            changed as (
                select incoming.*, coalesce(latest.version, 0) + 1 as version,
                       latest.status as previous_status
                from waybill_invoices as incoming
                left join latest using (invoice_id)
                where latest.invoice_id is null
                   or (latest.body_sha256 <> incoming.body_sha256 and latest.status <> 'posted')
            ),
            superseded as (
                update ops.billing_outbox as o
                set status = 'failed', last_error = 'superseded by a newer version'
                from changed
                where o.invoice_id = changed.invoice_id and o.status = 'pending'
                returning o.invoice_id
            )
            insert into ops.billing_outbox (
                invoice_id, version, idempotency_key, customer_id, currency,
                total_amount, body, body_sha256, run_id
            )
            select invoice_id, version, 'waybill:' || invoice_id || ':v' || version,
                   customer_id, currency, total_amount, body, body_sha256, run_id
            from changed
            """
        )
        return cur.rowcount
