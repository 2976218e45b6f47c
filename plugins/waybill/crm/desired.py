"""What the CRM should show now, computed from the marts: each shipment's customer-visible status
and one case per exception that deserves one.

Reads ``marts.fct_customer_shipment_status`` (the status, computed in dbt), ``marts.fct_shipments``,
``marts.fct_shipment_to_invoice``, ``marts.fct_shipment_milestones`` and
``staging.stg_erp__disputes`` (open disputes); writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from waybill.crm.mapping import CrmMapping

BILLING_HOLDS = ("credit_hold", "charge_out_of_contract", "cancelled")

SHIPMENTS_SQL = """
with

open_disputes as (
    select distinct on (order_number)
        order_number, dispute_id, reason_code, disputed_amount, currency, raised_at
    from (
        select d.*, jsonb_array_elements_text(d.shipment_ids) as order_number
        from staging.stg_erp__disputes as d
        where d.dispute_status = 'open'
    ) as by_shipment
    order by order_number, raised_at, dispute_id
),

exception_events as (
    select
        shipment_id,
        min(event_at) filter (where milestone = 'damaged') as damaged_at,
        min(event_at) filter (where milestone = 'lost') as lost_at
    from marts.fct_shipment_milestones
    where is_exception
    group by shipment_id
)

select
    s.order_number,
    s.customer_id,
    c.customer_visible_status,
    s.shipped_at,
    s.delivered_at,
    s.promised_delivery_at,
    coalesce(s.has_damage, false) or 'open_exception' = any(i.hold_reasons) as has_damage,
    coalesce(s.is_lost, false) as is_lost,
    coalesce(i.hold_reasons, '{}') as hold_reasons,
    e.damaged_at,
    e.lost_at,
    d.dispute_id,
    d.reason_code as dispute_reason,
    d.disputed_amount,
    d.currency as dispute_currency,
    d.raised_at as dispute_raised_at
from marts.fct_shipments as s
inner join marts.fct_customer_shipment_status as c on c.shipment_id = s.shipment_id
left join marts.fct_shipment_to_invoice as i on i.shipment_id = s.shipment_id
left join exception_events as e on e.shipment_id = s.shipment_id
left join open_disputes as d on d.order_number = s.order_number
where s.order_number is not null
order by s.order_number
"""


@dataclass(frozen=True)
class Desired:
    """One CRM record as Waybill wants it: object, external id, fields, and for a case whether
    its exception stands."""

    object: str
    external_id: str
    order_number: str
    exception: str | None
    payload: dict[str, Any]
    is_open: bool | None = None


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with ``Z`` (seconds), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exceptions_of(
    row: dict[str, Any], now: datetime, missing_pod_hours: float
) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """Exception name → (when it was raised, its evidence) for one shipment row at ``now``."""
    found: dict[str, tuple[datetime, dict[str, Any]]] = {}
    delivered, promised = row["delivered_at"], row["promised_delivery_at"]
    milestones = {
        "shipped_at": iso(row["shipped_at"]),
        "promised_delivery_at": iso(promised),
        "delivered_at": iso(delivered),
    }
    if promised is not None and (
        (delivered is not None and delivered > promised)
        or (delivered is None and not row["is_lost"] and promised < now)
    ):
        found["delay"] = (promised, {"milestones": milestones})
    if row["has_damage"]:
        at = row["damaged_at"] or delivered or now
        found["damage"] = (at, {"milestones": {**milestones, "damaged_at": iso(row["damaged_at"])}})
    if row["is_lost"]:
        at = row["lost_at"] or promised or now
        found["loss"] = (at, {"milestones": {**milestones, "lost_at": iso(row["lost_at"])}})
    reasons = list(row["hold_reasons"] or [])
    if delivered is not None:
        due = delivered + timedelta(hours=missing_pod_hours)
        if "missing_pod" in reasons and due <= now:
            found["missing_pod"] = (due, {"milestones": milestones, "pod_received": False})
        held = [r for r in reasons if r in BILLING_HOLDS]
        if held:
            found["billing_hold"] = (delivered, {"hold_reasons": held})
    if row["dispute_id"] is not None:
        found["dispute"] = (
            row["dispute_raised_at"] or now,
            {
                "dispute": {
                    "dispute_id": row["dispute_id"],
                    "reason_code": row["dispute_reason"],
                    "disputed_amount": str(row["disputed_amount"]),
                    "currency": row["dispute_currency"],
                }
            },
        )
    return found


def desired_records(conn: psycopg.Connection, mapping: CrmMapping, now: datetime) -> list[Desired]:
    """Every status record and open case the CRM should hold at ``now`` (the CRM's clock).

    Raises ``psycopg.errors.UndefinedTable`` when the marts are not built yet.
    """
    with conn.cursor() as cur:
        cur.execute(SHIPMENTS_SQL)
        names = [col.name for col in cur.description or []]
        rows = [dict(zip(names, values, strict=True)) for values in cur.fetchall()]
    out: list[Desired] = []
    for row in rows:
        order = row["order_number"]
        status = row["customer_visible_status"]
        out.append(
            Desired(
                mapping.status_object,
                order,
                order,
                None,
                {
                    "order_number": order,
                    "customer_id": row["customer_id"],
                    "customer_visible_status": status,
                    **mapping.statuses[status],
                },
            )
        )
        for name, (raised_at, evidence) in exceptions_of(
            row, now, mapping.missing_pod_after_hours
        ).items():
            case = mapping.cases[name]
            out.append(
                Desired(
                    mapping.case_object,
                    f"{order}:{name}",
                    order,
                    name,
                    {
                        "order_number": order,
                        "customer_id": row["customer_id"],
                        "exception": name,
                        "type": case.type,
                        "status": mapping.case_open,
                        "priority": case.priority,
                        "subject": case.subject.format(order_number=order),
                        "exception_raised_at": iso(raised_at),
                        "sla_due_at": iso(raised_at + timedelta(hours=case.sla_hours)),
                        "evidence": evidence,
                    },
                    is_open=True,
                )
            )
    return out
