"""Three-way reconciliation: what the mart says should be billed now, what Waybill sent, and
what the ERP holds.

Per invoice thread (one per shipment) and per document, each finding is a row in
``ops.reconciliation``:

``missing_at_erp`` (critical)
    a document the outbox records as posted has no ERP document under its Idempotency-Key;
``duplicated_at_erp`` (critical)
    one external id (our document id) on more than one ERP document, or a thread with more
    than one open invoice that is not an adjustment — a double billing;
``orphan_at_erp`` (critical)
    an ERP document under a Waybill key the outbox does not know;
``amount_drift`` (critical)
    the ERP's net for a thread (invoices − credit notes) differs from what Waybill sent, or
    from what the mart says should be billed now with nothing queued or held to explain it;
``unbilled_change`` (warning)
    the mart and the ERP differ for a thread already billed, and a queued, in-flight, held or
    approval-waiting document (or an open gate hold) explains it: the change is on its way.

The mart's figure is ``fct_invoice_lines``' total for the thread less the credits granted on
accepted disputes (those are concessions, not drift); a thread no longer in the batch should
net to zero.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import requests
from psycopg import sql

from waybill import warehouse

if TYPE_CHECKING:
    import psycopg

    from waybill.connectors.http import HttpClient

log = logging.getLogger(__name__)

KEY_PREFIX = "waybill:"
CRITICAL = ("missing_at_erp", "duplicated_at_erp", "orphan_at_erp", "amount_drift")


class ReconciliationFailed(RuntimeError):
    """The mart, the outbox and the ERP disagree; the message counts each critical class."""


COMPARE_SQL = """
with erp as (
    select
        erp.*,
        coalesce(erp.kind, 'invoice') as erp_kind,
        coalesce(erp.external_id, erp.invoice_number, erp.credit_note_number) as erp_external_id
    from jsonb_to_recordset(%(erp)s::jsonb) as erp (
        idempotency_key text, document_number text, invoice_number text,
        credit_note_number text, external_id text, kind text, total_amount numeric,
        original_document_id text
    )
),
sent as (
    select * from ops.billing_outbox where status in ('posted', 'conflict')
),
erp_mapped as (
    select erp.*, outbox.invoice_id, outbox.version, outbox.purpose
    from erp
    left join ops.billing_outbox as outbox on erp.idempotency_key = outbox.idempotency_key
),
erp_credited as (
    select original_document_id, sum(total_amount) as credited
    from erp where erp_kind = 'credit_note'
    group by original_document_id
),
targets as (
    select invoice_id, sum(amount) as target_total
    from {lines}
    group by invoice_id
),
concessions as (
    select invoice_id, sum(total_amount) as conceded
    from ops.billing_outbox
    where purpose = 'dispute_credit' and status = 'posted'
    group by invoice_id
),
threads as (
    select invoice_id from ops.billing_outbox where status in ('posted', 'conflict', 'sending')
    union
    select invoice_id from erp_mapped where invoice_id is not null
),
nets as (
    select
        threads.invoice_id,
        coalesce((
            select sum(case when erp_kind = 'invoice' then total_amount else -total_amount end)
            from erp_mapped where erp_mapped.invoice_id = threads.invoice_id
        ), 0) as erp_net,
        coalesce((
            select sum(case when kind = 'invoice' then total_amount else -total_amount end)
            from sent where sent.invoice_id = threads.invoice_id
        ), 0) as sent_net,
        coalesce(targets.target_total, 0) - coalesce(concessions.conceded, 0) as mart_net,
        exists (
            select 1 from ops.billing_outbox as waiting
            where waiting.invoice_id = threads.invoice_id
                and waiting.status in ('pending', 'sending', 'awaiting_approval', 'held')
        ) or exists (
            select 1 from ops.billing_holds as holds
            where holds.invoice_id = threads.invoice_id and holds.released_at is null
        ) as explained
    from threads
    left join targets on threads.invoice_id = targets.invoice_id
    left join concessions on threads.invoice_id = concessions.invoice_id
),
missing as (
    select 'missing_at_erp' as issue, sent.invoice_id, sent.idempotency_key,
           sent.erp_document_number as documents, null::numeric as mart_amount,
           sent.total_amount as outbox_amount, null::numeric as erp_amount,
           sent.kind || ' ' || coalesce(sent.document_id, sent.invoice_id)
           || ' posted as ' || coalesce(sent.erp_document_number, '?')
           || ' but the ERP has no document under its key' as detail
    from sent
    left join erp on sent.idempotency_key = erp.idempotency_key
    where erp.idempotency_key is null
),
duplicated_external as (
    select 'duplicated_at_erp', min(invoice_id), string_agg(idempotency_key, ', '),
           string_agg(document_number, ', ' order by document_number),
           null::numeric, null::numeric, sum(total_amount),
           count(*)::text || ' ERP documents for external id ' || erp_external_id
    from erp_mapped
    group by erp_external_id
    having count(*) > 1
),
duplicated_live as (
    select 'duplicated_at_erp', erp_mapped.invoice_id, string_agg(idempotency_key, ', '),
           string_agg(document_number, ', ' order by document_number),
           null::numeric, null::numeric, sum(total_amount),
           count(*)::text || ' open invoices for one shipment'
    from erp_mapped
    left join erp_credited on erp_mapped.document_number = erp_credited.original_document_id
    where
        erp_mapped.erp_kind = 'invoice'
        and erp_mapped.invoice_id is not null
        and erp_mapped.purpose <> 'adjustment'
        and erp_mapped.total_amount - coalesce(erp_credited.credited, 0) > 0
    group by erp_mapped.invoice_id
    having count(*) > 1
),
orphans as (
    select 'orphan_at_erp', erp.erp_external_id, erp.idempotency_key, erp.document_number,
           null::numeric, null::numeric, erp.total_amount,
           'ERP ' || erp.erp_kind || ' under a Waybill key the outbox lacks'
    from erp
    left join ops.billing_outbox as outbox
        on erp.idempotency_key = outbox.idempotency_key
    where erp.idempotency_key like 'waybill:%%' and outbox.idempotency_key is null
),
drift as (
    select
        case
            when erp_net <> sent_net or not explained then 'amount_drift'
            else 'unbilled_change'
        end,
        invoice_id, null::text, null::text, mart_net, sent_net, erp_net,
        'mart ' || mart_net::text || ', sent ' || sent_net::text || ', ERP ' || erp_net::text
    from nets
    where erp_net <> sent_net or mart_net <> erp_net
)
insert into ops.reconciliation (
    run_id, issue, invoice_id, idempotency_key, erp_document_numbers, mart_amount,
    outbox_amount, erp_amount, detail, severity
)
select
    %(run)s, found.*,
    case when found.issue = 'unbilled_change' then 'warning' else 'critical' end
from (
    select * from missing
    union all select * from duplicated_external
    union all select * from duplicated_live
    union all select * from orphans
    union all select * from drift
) as found
returning issue
"""


def erp_documents(client: HttpClient) -> list[dict[str, Any]]:
    """Every document the ERP holds: ``GET /invoices`` and ``GET /credit-notes`` (plain lists).

    An ERP without a credit-note endpoint (404) holds no credit notes.
    """
    documents: list[dict[str, Any]] = []
    for path, kind in (("/invoices", "invoice"), ("/credit-notes", "credit_note")):
        try:
            body = client.get_json(path)
        except requests.HTTPError as exc:
            if kind == "credit_note" and " returned 404" in str(exc):
                continue
            raise
        rows = body["data"] if isinstance(body, dict) else body
        documents.extend({"kind": kind, **row} for row in rows)
    return documents


def compare(
    conn: psycopg.Connection,
    documents: list[dict[str, Any]],
    run_id: str | None,
    lines_table: str = "marts.fct_invoice_lines",
) -> dict[str, int]:
    """Write one ``ops.reconciliation`` row per finding (caller's transaction); return counts
    by class."""
    schema, table = lines_table.split(".")
    exists = conn.execute("select to_regclass(%s) is not null", (lines_table,)).fetchone()
    lines = (
        sql.Identifier(schema, table)
        if exists and exists[0]
        else sql.SQL(
            "(select null::text as invoice_id, null::numeric as amount where false) as none_"
        )
    )
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(COMPARE_SQL).format(lines=lines),
            {"erp": json.dumps(documents), "run": run_id},
        )
        counts: dict[str, int] = {}
        for (issue,) in cur:
            counts[issue] = counts.get(issue, 0) + 1
    return counts


def reconcile(run_id: str | None = None, client: HttpClient | None = None) -> dict:
    """Compare mart, outbox and ERP; raise :class:`ReconciliationFailed` on a critical class."""
    if client is None:
        from waybill.billing.run import erp_client

        client, _limit = erp_client()
    documents = erp_documents(client)
    with warehouse.connect(role="poster") as conn:  # noqa: SIM117 - one-line change; reindent later
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
    critical = {issue: n for issue, n in counts.items() if issue in CRITICAL}
    if critical:
        raise ReconciliationFailed(
            "mart, outbox and ERP disagree: "
            + ", ".join(f"{n} {issue}" for issue, n in sorted(critical.items()))
            + " (see ops.reconciliation)"
        )
    return summary
