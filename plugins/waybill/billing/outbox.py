"""The billing outbox: what must reach the ERP, each invoice version once, keyed for idempotency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

if TYPE_CHECKING:
    import psycopg

# Money as the ERP wants it: a string with exactly two decimals ("-12.30" allowed).
_MONEY = "'FM999999999990.00'"

ENQUEUE_SQL = f"""
with held as (
    select distinct invoice_id from ops.billing_holds where released_at is null
),
gated_lines as (
    select lines.*
    from {{lines}} as lines
    where not exists (
        select 1 from held where held.invoice_id = lines.invoice_id
    )
),
incoming as (
    select
        invoice_id,
        min(customer_id) as customer_id,
        min(currency) as currency,
        min(shipment_id) as shipment_id,
        sum(amount) as total_amount,
        jsonb_build_object(
            'invoice_number', invoice_id,
            'customer_id', min(customer_id),
            'currency', min(currency),
            'invoice_date', min(invoice_date)::text,
            'total_amount', to_char(sum(amount), {_MONEY}),
            'lines', jsonb_agg(
                jsonb_build_object(
                    'line_number', invoice_line_number,
                    'shipment_reference', order_number,
                    'charge_code', charge_code,
                    'description', coalesce(description, ''),
                    'amount', to_char(amount, {_MONEY})
                )
                order by invoice_line_number
            )
        ) as body
    from gated_lines
    group by invoice_id
),
hashed as (
    select
        incoming.*,
        encode(sha256(convert_to(body::text, 'UTF8')), 'hex') as body_sha256
    from incoming
),
latest as (
    select distinct on (invoice_id) invoice_id, version, body_sha256, status
    from ops.billing_outbox
    order by invoice_id, version desc
),
changed as (
    select hashed.*, coalesce(latest.version, 0) + 1 as version
    from hashed
    left join latest on hashed.invoice_id = latest.invoice_id
    where
        latest.invoice_id is null
        or (
            latest.body_sha256 <> hashed.body_sha256
            and latest.status not in ('posted', 'conflict')
        )
),
superseded as (
    update ops.billing_outbox as outbox
    set status = 'failed', last_error = 'superseded by a newer version'
    from changed
    where outbox.invoice_id = changed.invoice_id and outbox.status = 'pending'
    returning outbox.invoice_id
)
insert into ops.billing_outbox (
    invoice_id, version, idempotency_key, customer_id, currency, total_amount,
    body, body_sha256, run_id, shipment_id
)
select
    invoice_id, version, 'waybill:' || invoice_id || ':v' || version, customer_id,
    currency, total_amount, body, body_sha256, %(run)s, shipment_id
from changed
"""


def enqueue_gated(
    conn: psycopg.Connection, run_id: str | None, lines_table: str = "marts.fct_invoice_lines"
) -> int:
    """Add every invoice of ``lines_table`` that has no open hold to ``ops.billing_outbox``.

    One set-based statement: bodies are built in SQL. An invoice whose body changed while still
    unposted gets a new version (a new key) and its pending version is superseded; a posted or
    conflicting invoice is never re-queued. The Idempotency-Key is ``waybill:<invoice_id>:v<version>``,
    stable across retries and reruns, so the ERP bills each version once. Runs in the caller's
    transaction; returns the number of new outbox rows.
    """
    schema, table = lines_table.split(".")
    query = sql.SQL(ENQUEUE_SQL).format(lines=sql.Identifier(schema, table))
    with conn.cursor() as cur:
        cur.execute(query, {"run": run_id})
        return cur.rowcount
