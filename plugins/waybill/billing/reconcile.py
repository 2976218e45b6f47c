"""Reconciliation: what the ERP says it has against what the outbox says was posted.

Issues (each a row in ``ops.reconciliation``): ``missing`` — posted in the outbox, absent at the
ERP; ``duplicated`` — one invoice number on more than one ERP document (a double billing);
``amount_mismatch`` — the ERP total differs from the outbox total under the same key;
``unknown`` — an ERP document under a Waybill key the outbox does not know.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from waybill import warehouse
from waybill.load.schema import ensure_ops_schema

if TYPE_CHECKING:
    import psycopg

    from waybill.connectors.http import HttpClient

log = logging.getLogger(__name__)

KEY_PREFIX = "waybill:"


class ReconciliationFailed(RuntimeError):
    """The ERP and the outbox disagree; the message counts each kind of issue."""


COMPARE_SQL = """
with erp as (
    select * from jsonb_to_recordset(%(erp)s::jsonb) as erp (
        idempotency_key text, document_number text, invoice_number text,
        total_amount numeric, times_posted integer
    )
),
ours as (
    select * from ops.billing_outbox where status in ('posted', 'conflict')
),
missing as (
    select 'missing' as issue, ours.invoice_id, ours.idempotency_key,
           null::text as documents, ours.total_amount as outbox_amount,
           null::numeric as erp_amount,
           'posted as ' || coalesce(ours.erp_document_number, '?')
           || ' but the ERP has no document under this key' as detail
    from ours
    left join erp on ours.idempotency_key = erp.idempotency_key
    where erp.idempotency_key is null
),
duplicated as (
    select 'duplicated', invoice_number, string_agg(idempotency_key, ', '),
           string_agg(document_number, ', ' order by document_number),
           null::numeric, null::numeric,
           count(*)::text || ' ERP documents for one invoice'
    from erp
    group by invoice_number
    having count(*) > 1
),
mismatched as (
    select 'amount_mismatch', ours.invoice_id, ours.idempotency_key,
           erp.document_number, ours.total_amount, erp.total_amount,
           'outbox ' || ours.total_amount::text || ' <> ERP ' || erp.total_amount::text
    from ours
    inner join erp on ours.idempotency_key = erp.idempotency_key
    where ours.total_amount <> erp.total_amount
),
unknown as (
    select 'unknown', erp.invoice_number, erp.idempotency_key, erp.document_number,
           null::numeric, erp.total_amount,
           'ERP document under a Waybill key the outbox lacks'
    from erp
    left join ops.billing_outbox as outbox
        on erp.idempotency_key = outbox.idempotency_key
    where erp.idempotency_key like 'waybill:%%' and outbox.idempotency_key is null
)
insert into ops.reconciliation (
    run_id, issue, invoice_id, idempotency_key, erp_document_numbers,
    outbox_amount, erp_amount, detail
)
select %(run)s, found.*
from (
    select * from missing
    union all select * from duplicated
    union all select * from mismatched
    union all select * from unknown
) as found
returning issue
"""


def erp_invoices(client: HttpClient) -> list[dict[str, Any]]:
    """``GET /invoices``: every document the ERP received (a plain list)."""
    body = client.get_json("/invoices")
    return body["data"] if isinstance(body, dict) else body


def compare(conn: psycopg.Connection, documents: list[dict[str, Any]], run_id: str | None) -> dict:
    """Write one ``ops.reconciliation`` row per issue (caller's transaction); return counts by issue."""
    with conn.cursor() as cur:
        cur.execute(COMPARE_SQL, {"erp": json.dumps(documents), "run": run_id})
        counts: dict[str, int] = {}
        for (issue,) in cur:
            counts[issue] = counts.get(issue, 0) + 1
    return counts


def reconcile(run_id: str | None = None, client: HttpClient | None = None) -> dict:
    """Compare the ERP's invoices with the outbox; raise :class:`ReconciliationFailed` on any issue."""
    if client is None:
        from waybill.billing.run import erp_client

        client, _limit = erp_client()
    documents = erp_invoices(client)
    with warehouse.connect() as conn:
        ensure_ops_schema(conn)
        with conn.transaction():
            if run_id:  # a retried task replaces its own findings
                conn.execute("delete from ops.reconciliation where run_id = %s", (run_id,))
            counts = compare(conn, documents, run_id)
            row = conn.execute(
                "select count(*) from ops.billing_outbox where status = 'posted'"
            ).fetchone()
            assert row is not None  # an aggregate without group by returns one row
            posted = row[0]
    summary = {"erp_documents": len(documents), "outbox_posted": posted, "issues": counts}
    log.info("reconciliation: %s", summary)
    if counts:
        raise ReconciliationFailed(
            "ERP and outbox disagree: "
            + ", ".join(f"{n} {issue}" for issue, n in sorted(counts.items()))
            + " (see ops.reconciliation)"
        )
    return summary
