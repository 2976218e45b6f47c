"""What the finance report tells beyond the gate: the business holds of the mart, the run's
amendments and credit notes, open disputes, approvals waiting, invoice cycle time and dispute
rate, and the evidence behind each held or disputed invoice.

Every figure is read from the warehouse with plain SQL, so finance can re-run any of them:
``marts.fct_shipment_to_invoice`` (billing status and hold reasons per shipment),
``marts.fct_freight_charges`` (the rate-card line of each charge), ``ops.billing_outbox``
(documents) and ``staging.stg_erp__disputes``. A relation that does not exist yet (a fresh
warehouse) reads as empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

EVIDENCE_EXAMPLES = 3  # held shipments shown with their evidence, per hold reason
MILESTONE_COLUMNS = (
    "shipped_at",
    "tendered_at",
    "picked_up_at",
    "in_transit_at",
    "out_for_delivery_at",
    "delivered_at",
    "pod_received_at",
)


def _rows(conn, query: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]


def _exists(conn, relation: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()
    return bool(row and row[0])


def _money(value: Any) -> str:
    return f"{Decimal(value or 0):,.2f}"


def business_holds(conn, schema: str = "marts") -> list[dict[str, Any]]:
    """Held shipments of the mart by first hold reason: count, amount at risk per currency,
    oldest delivery, and a few examples (shipment ids) whose evidence the report shows."""
    table = f"{schema}.fct_shipment_to_invoice"
    if not _exists(conn, table):
        return []
    rows = _rows(
        conn,
        f"""
        select hold_reason, currency, count(*) as shipments,
            sum(billable_amount) as amount, min(delivered_at) as oldest_delivered_at,
            (array_agg(shipment_id order by delivered_at, shipment_id))[1:%s] as examples
        from {table}
        where billing_status = 'held'
        group by hold_reason, currency
        order by hold_reason, currency
        """,
        (EVIDENCE_EXAMPLES,),
    )
    by_reason: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_reason.setdefault(
            row["hold_reason"],
            {
                "reason": row["hold_reason"],
                "shipments": 0,
                "amounts": [],
                "oldest": row["oldest_delivered_at"],
                "examples": [],
            },
        )
        entry["shipments"] += row["shipments"]
        entry["amounts"].append(f"{_money(row['amount'])} {row['currency']}")
        if row["oldest_delivered_at"] and (
            entry["oldest"] is None or row["oldest_delivered_at"] < entry["oldest"]
        ):
            entry["oldest"] = row["oldest_delivered_at"]
        for shipment in row["examples"]:
            if len(entry["examples"]) < EVIDENCE_EXAMPLES:
                entry["examples"].append(shipment)
    now = datetime.now(UTC)
    for entry in by_reason.values():
        oldest = entry["oldest"]
        entry["oldest"] = oldest.strftime("%Y-%m-%d") if oldest else ""
        entry["oldest_age_days"] = (now - oldest).days if oldest else None
    return sorted(by_reason.values(), key=lambda e: (-e["shipments"], e["reason"]))


def run_documents(conn, run_id: str) -> list[dict[str, Any]]:
    """Documents this run queued, by kind and purpose: count and amount per currency."""
    rows = _rows(
        conn,
        """
        select kind, purpose, currency, count(*) as documents, sum(total_amount) as amount,
            count(*) filter (where status = 'posted') as posted
        from ops.billing_outbox
        where run_id = %s and status <> 'cancelled'
        group by kind, purpose, currency
        order by kind desc, purpose, currency
        """,
        (run_id,),
    )
    return [{**row, "amount": _money(row["amount"])} for row in rows]


def documents_by_kind(conn) -> dict[str, int]:
    """Documents accepted by the ERP so far, by kind."""
    rows = conn.execute(
        "select kind, count(*) from ops.billing_outbox where status = 'posted' group by kind"
    ).fetchall()
    return {kind: count for kind, count in rows}


def open_disputes(conn, disputes: str = "staging.stg_erp__disputes") -> list[dict[str, Any]]:
    """Open disputes by reason: count, amount, age of the oldest, and their documents."""
    if not _exists(conn, disputes):
        return []
    rows = _rows(
        conn,
        f"""
        select reason_code, currency, count(*) as disputes, sum(disputed_amount) as amount,
            min(raised_at) as oldest_raised_at,
            array_agg(dispute_id || ' on ' || coalesce(external_id, document_number)
                order by raised_at) as items
        from {disputes}
        where dispute_status = 'open'
        group by reason_code, currency
        order by reason_code, currency
        """,
    )
    now = datetime.now(UTC)
    return [
        {
            **row,
            "amount": _money(row["amount"]),
            "oldest_age_days": (now - row["oldest_raised_at"]).days
            if row["oldest_raised_at"]
            else None,
        }
        for row in rows
    ]


def disputed_invoices(conn, disputes: str = "staging.stg_erp__disputes") -> list[str]:
    """Invoice threads with an open dispute (their evidence is shown)."""
    if not _exists(conn, disputes):
        return []
    return [
        r[0]
        for r in conn.execute(
            f"""
            select distinct outbox.invoice_id
            from {disputes} as disputes
            inner join ops.billing_outbox as outbox
                on disputes.external_id = coalesce(outbox.document_id, outbox.invoice_id)
            where disputes.dispute_status = 'open'
            order by 1
            """
        )
    ]


def approvals_waiting(conn) -> list[dict[str, Any]]:
    """Documents waiting for finance approval."""
    rows = _rows(
        conn,
        """
        select coalesce(document_id, invoice_id) as document_id, kind, customer_id,
            currency, total_amount, cause, created_at
        from ops.billing_outbox where status = 'awaiting_approval'
        order by created_at, invoice_id, version
        """,
    )
    return [{**row, "total_amount": _money(row["total_amount"])} for row in rows]


def cycle_time_and_dispute_rate(
    conn, schema: str = "marts", disputes: str = "staging.stg_erp__disputes"
) -> dict[str, Any]:
    """Invoice cycle time (POD received → first invoice accepted by the ERP), p50/p90 in
    hours, and the dispute rate (disputes over invoiced shipments, %)."""
    out: dict[str, Any] = {"cycle_p50_h": None, "cycle_p90_h": None, "dispute_rate_pct": None}
    table = f"{schema}.fct_shipment_to_invoice"
    if not _exists(conn, table):
        return out
    row = conn.execute(
        f"""
        select
            percentile_cont(0.5) within group (order by hours),
            percentile_cont(0.9) within group (order by hours),
            count(*)
        from (
            select extract(epoch from invoiced_at - pod_received_at) / 3600.0 as hours
            from {table}
            where invoiced_at is not null and pod_received_at is not null
        ) as cycle
        """
    ).fetchone()
    if row and row[2]:
        out["cycle_p50_h"] = round(float(row[0]), 1)
        out["cycle_p90_h"] = round(float(row[1]), 1)
    invoiced = conn.execute(
        "select count(distinct invoice_id) from ops.billing_outbox"
        " where status = 'posted' and kind = 'invoice'"
    ).fetchone()
    if _exists(conn, disputes) and invoiced and invoiced[0]:
        raised = conn.execute(f"select count(*) from {disputes}").fetchone()
        out["dispute_rate_pct"] = round(100.0 * (raised[0] if raised else 0) / invoiced[0], 2)
    return out


def evidence(conn, shipment_ids: list[str], schema: str = "marts") -> list[dict[str, Any]]:
    """Per shipment: milestones and POD from the mart, and the rate-card line of each charge."""
    table = f"{schema}.fct_shipment_to_invoice"
    if not shipment_ids or not _exists(conn, table):
        return []
    columns = ", ".join(MILESTONE_COLUMNS)
    shipments = _rows(
        conn,
        f"""
        select shipment_id, order_number, tracking_number, carrier_code, customer_id,
            invoice_id, billing_status, hold_reasons, billable_amount, currency, {columns}
        from {table}
        where shipment_id = any(%s) or invoice_id = any(%s)
        order by shipment_id
        """,
        (shipment_ids, shipment_ids),
    )
    charges: dict[str, list[dict[str, Any]]] = {}
    if _exists(conn, f"{schema}.fct_freight_charges"):
        for row in _rows(
            conn,
            f"""
            select shipment_id, charge_code, amount, contract_amount, rate_card_id,
                rate_source
            from {schema}.fct_freight_charges
            where shipment_id = any(%s)
            order by shipment_id, charge_order, charge_code
            """,
            ([s["shipment_id"] for s in shipments],),
        ):
            charges.setdefault(row["shipment_id"], []).append(row)
    out = []
    for shipment in shipments:
        out.append(
            {
                **shipment,
                "billable_amount": _money(shipment["billable_amount"]),
                "milestones": [
                    (name.removesuffix("_at").replace("_", " "), shipment[name])
                    for name in MILESTONE_COLUMNS
                ],
                "charges": charges.get(shipment["shipment_id"], []),
            }
        )
    return out


def gather_story(conn, run_id: str) -> dict[str, Any]:
    """Everything above, for the report template."""
    holds = business_holds(conn)
    disputed = disputed_invoices(conn)
    examples = [s for entry in holds for s in entry["examples"]] + disputed
    return {
        "business_holds": holds,
        "business_held_total": sum(entry["shipments"] for entry in holds),
        "run_documents": run_documents(conn, run_id),
        "documents_by_kind": documents_by_kind(conn),
        "open_disputes": open_disputes(conn),
        "approvals_waiting": approvals_waiting(conn),
        "kpis": cycle_time_and_dispute_rate(conn),
        "evidence": evidence(conn, examples),
    }
