"""The truth: what really happened in a world, computed by the generator (never read back from the
APIs).

:func:`write_truth` streams one JSON object: the per-shipment list first (so a million shipments
never sit in memory), then the aggregates accumulated on the way. README.md defines every field.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TextIO

from waybill_sandbox.billing_oracle import oracle_ticks, ridgeline_event_release, simulate
from waybill_sandbox.carrier_json import pod_record_key
from waybill_sandbox.crm_world import (
    DEFAULT_MISSING_POD_HOURS,
    case_exceptions,
    customer_status,
    known_to_crm,
)
from waybill_sandbox.faults import FaultConfig
from waybill_sandbox.files import csv_rows_for
from waybill_sandbox.lifecycle import pod_publications
from waybill_sandbox.records import erp_credit_holds, inventory_snapshot
from waybill_sandbox.reference import CARRIERS
from waybill_sandbox.timefmt import iso_utc
from waybill_sandbox.visibility import Visibility, visibility_of
from waybill_sandbox.world import Shipment, World, money
from waybill_sandbox.x12 import X12Batcher

TRUTH_VERSION = 1


def _pct(numerator: int, denominator: int) -> float | None:
    return round(100.0 * numerator / denominator, 1) if denominator else None


def shipment_truth(
    s: Shipment,
    world: World,
    ticks: list[int] | None = None,
    ridgeline_release: dict[tuple[str, int], int | None] | None = None,
    missing_pod_hours: float = DEFAULT_MISSING_POD_HOURS,
    faults: FaultConfig | None = None,
    pushed: frozenset[str] = frozenset(),
) -> dict:
    """The truth record of one shipment (``ticks``: the billing oracle's run times, default one
    run at the horizon; the CRM sync is expected at the same runs). Under ``faults`` the billing
    oracle and the CRM expectations see only what a pipeline can read
    (:mod:`waybill_sandbox.visibility`; ``pushed``: carriers whose events also arrive as webhooks)."""
    vis = visibility_of(s, world, faults, ridgeline_release, pushed)
    reasons = s.hold_reasons(world.as_of)
    delivered = s.delivered_at is not None
    on_time = s.is_on_time
    invoiced = s.carrier_invoiced_cents if s.carrier_invoices else None
    lane = f"{s.warehouse_id}-{s.dest[1]}"
    record = {
        "order_number": s.order_number,
        "wms_shipment_id": s.wms_shipment_id,
        "tms_shipment_id": s.tms_shipment_id,
        "load_id": s.load_id,
        "bol_number": s.bol_number,
        "tracking_number": s.tracking_number,
        "carrier_code": s.carrier.carrier_code,
        "customer_id": s.customer.customer_id,
        "origin_warehouse": s.warehouse_id,
        "destination_state": s.dest[1],
        "lane": lane,
        "ship_date": s.ship_date.isoformat(),
        "promised_delivery_at": iso_utc(s.promised_delivery_at),
        "delivered_at": iso_utc(s.delivered_at) if s.delivered_at is not None else None,
        "is_on_time": on_time,
        "is_in_full": s.is_in_full,
        "is_otif": bool(on_time and s.is_in_full) if delivered else None,
        "billable": delivered and not reasons,
        "billable_amount": money(s.billable_cents),
        "currency": s.customer.currency,
        "hold_reason": reasons[0] if reasons else None,
        "hold_reasons": reasons,
        "exceptions": list(s.exceptions),
        "milestones": {
            m: iso_utc(t) for m, t in sorted(s.milestones.items(), key=lambda kv: kv[1])
        },
        "charges": {c.charge_code: money(c.amount_cents) for c in s.charges},
        "rated_cost": money(s.rated_cost_cents),
        "carrier_invoiced": money(invoiced) if invoiced is not None else None,
        "carrier_invoice_variance": money(invoiced - s.rated_cost_cents)
        if invoiced is not None
        else None,
        "weight_kg": s.weight_kg,
        **lifecycle_truth(s, ticks or [world.as_of], ridgeline_release, vis),
    }
    record.update(crm_truth(s, record, ticks or [world.as_of], missing_pod_hours, vis))
    return record


def crm_truth(
    s: Shipment,
    record: dict,
    ticks: list[int],
    missing_pod_hours: float,
    vis: Visibility | None = None,
) -> dict:
    """The CRM part of a shipment's truth: its customer-visible status at the last run and the
    cases it deserves — one per exception seen at any run (a case is never opened twice). A
    shipment Waybill cannot name the customer of (unreadable ERP order) has status None (the CRM
    refuses a status without a customer) but still its cases (a case needs none)."""
    vis = vis or Visibility()
    plan = s.dispute if any(d["raised"] for d in record["disputes"]) else None
    cases: set[str] = set()
    for at in ticks:
        dispute_open = (
            plan is not None
            and plan.raise_at <= at
            and (plan.resolve_at is None or plan.resolve_at > at)
        )
        cases.update(
            case_exceptions(
                s, at, missing_pod_hours=missing_pod_hours, dispute_open=dispute_open, vis=vis
            )
        )
    order = ("delay", "damage", "loss", "missing_pod", "billing_hold", "dispute")
    return {
        "customer_status": customer_status(s, ticks[-1], vis) if known_to_crm(vis) else None,
        "crm_cases": [
            {"external_id": f"{s.order_number}:{name}", "exception": name}
            for name in order
            if name in cases
        ],
    }


def lifecycle_truth(
    s: Shipment,
    ticks: list[int],
    ridgeline_release: dict[tuple[str, int], int | None] | None = None,
    vis: Visibility | None = None,
) -> dict:
    """The post-delivery part of a shipment's truth: its change, dispute plan, contract policy,
    and what the billing oracle expects (net amount and documents) from what ``vis`` lets a
    pipeline read."""
    changes = []
    if s.change_kind is not None and s.change_at is not None:
        change: dict = {"kind": s.change_kind, "at": iso_utc(s.change_at)}
        if s.pod_corrected_at is not None:
            change["corrected_at"] = iso_utc(s.pod_corrected_at)
        changes.append(change)
    result = simulate(s, ticks, ridgeline_release, vis)
    disputes = []
    if s.dispute is not None:
        plan = s.dispute
        disputes.append(
            {
                "raise_at": iso_utc(plan.raise_at),
                "resolve_at": iso_utc(plan.resolve_at) if plan.resolve_at is not None else None,
                "outcome": plan.outcome,
                "reason": plan.reason,
                "pct": plan.pct,
                "raised": bool(result.disputes),
                "disputed_amount": money(result.disputes[0]["disputed_cents"])
                if result.disputes
                else None,
            }
        )
    return {
        "changes": changes,
        "disputes": disputes,
        "amendment_policy": s.customer.amendment_policy,
        "net_billable_amount": money(result.net_cents),
        "expected_documents": [{**d, "at": iso_utc(d["at"])} for d in result.documents],
    }


def malformed_keys(s: Shipment, world: World, faults: FaultConfig) -> list[dict]:
    """The JSON records of shipment ``s`` the API serves malformed under ``faults``
    (same keys as the app).
    """
    seed = world.seed
    candidates: list[tuple[str, str]] = [
        ("erp", f"orders/{s.order_number}"),
        ("wms", f"shipment-confirmations/{s.wms_shipment_id}/0"),
        ("tms", f"shipments/{s.tms_shipment_id}"),
    ]
    if s.wms_resent_at is not None:
        candidates.append(("wms", f"shipment-confirmations/{s.wms_shipment_id}/1"))
    candidates += [("wms", f"inventory-adjustments/{a.adjustment_id}") for a in s.adjustments]
    candidates += [
        ("tms", f"rated-charges/{s.tms_shipment_id}-{c.charge_number:02d}") for c in s.charges
    ]
    candidates += [
        (
            "tms",
            f"rated-charges/{s.tms_shipment_id}-{s.charges[r.charge_index].charge_number:02d}"
            f"/{r.revision}",
        )
        for r in s.charge_revisions
    ]
    if s.index % 3 == 0:
        candidates.append(("tms", f"loads/{s.load_id}"))
    code = s.carrier.carrier_code
    if code in ("parcelco", "swiftex", "tracklane"):
        candidates += [
            ("carriers", f"{code}/events/{s.tracking_number}/{k}") for k in range(len(s.events))
        ]
    else:
        candidates += [
            ("carriers", pod_record_key(s.tracking_number, sub)) for _, sub in pod_publications(s)
        ]
    return [
        {"system": system, "record": key}
        for system, key in candidates
        if faults.record_malformed(seed, system, key)
    ]


def write_truth(
    world: World,
    out: TextIO,
    faults: FaultConfig | None = None,
    *,
    clock: int | None = None,
    tick_hours: float = 24.0,
    missing_pod_hours: float = DEFAULT_MISSING_POD_HOURS,
    pushed: frozenset[str] = frozenset(),
) -> None:
    """Write the truth JSON of ``world`` to ``out`` in one streamed pass over the shipments.

    The billing oracle (``net_billable_amount``, ``expected_documents``) runs at ``clock``
    (default the horizon) and every ``tick_hours`` after it; the CRM cases (``crm_cases``) are
    those a sync at the same runs opens, a missing POD once ``missing_pod_hours`` old.
    ``pushed``: carriers whose events the pipeline also receives as webhooks (under faults, a
    bad feed copy of their events then hides nothing).
    """
    faults = faults or FaultConfig()
    first_tick = world.as_of if clock is None else clock
    ticks = oracle_ticks(world, first_tick, tick_hours)
    ridgeline_release = ridgeline_event_release(world, faults)
    carriers: dict[str, dict[str, int]] = {c.carrier_code: defaultdict(int) for c in CARRIERS}
    lanes: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    holds: dict[str, int] = defaultdict(int)
    billable_by_currency: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    malformed: list[dict] = []
    totals: dict[str, int] = defaultdict(int)
    crm_cases: dict[str, int] = defaultdict(int)
    crm_statuses: dict[str, int] = defaultdict(int)

    head = {
        "truth_version": TRUTH_VERSION,
        "seed": world.seed,
        "shipment_count": world.n,
        "start": world.start.isoformat(),
        "days": world.days,
        "as_of": iso_utc(world.as_of),
        "changes": world.changes,
        "oracle": {"clock": iso_utc(first_tick), "tick_hours": tick_hours, "ticks": len(ticks)},
    }
    # The object stays open: the shipments stream next, the aggregates close it.
    out.write(json.dumps(head)[:-1] + ',\n"shipments": [\n')
    files: dict[str, dict] = {}
    bad_rows: list[dict] = []
    line_no: dict[str, int] = defaultdict(lambda: 1)
    batcher = X12Batcher(world, faults)

    def add_x12(done: list) -> None:
        for f in done:
            rel = f"ridgeline/{f.kind}/{f.name}"
            files[rel] = {
                "name": rel,
                "kind": f"x12-{f.kind}",
                "records": f.transaction_sets,
                "truncated": f.truncated,
            }

    first = True
    for s in world.iter_shipments():
        for row in csv_rows_for(s, world):
            line_no[row.file] += 1
            entry = files.setdefault(
                row.file, {"name": row.file, "kind": "csv", "records": 0, "bad_rows": 0}
            )
            entry["records"] += 1
            if row.bad:
                entry["bad_rows"] += 1
                bad_rows.append(
                    {
                        "file": row.file,
                        "line": line_no[row.file],
                        "record": row.record_id,
                        "reason": row.bad,
                    }
                )
        add_x12(batcher.add(s))
        rec = shipment_truth(s, world, ticks, ridgeline_release, missing_pod_hours, faults, pushed)
        for case in rec["crm_cases"]:
            crm_cases[case["exception"]] += 1
        if rec["customer_status"] is not None:
            crm_statuses[rec["customer_status"]] += 1
        out.write(("" if first else ",\n") + json.dumps(rec, separators=(",", ":")))
        first = False
        c = carriers[s.carrier.carrier_code]
        c["shipments"] += 1
        c["rated_cost_cents"] += s.rated_cost_cents
        totals["shipments"] += 1
        if rec["is_in_full"]:
            c["in_full"] += 1
            totals["in_full"] += 1
        if s.delivered_at is not None:
            c["delivered"] += 1
            totals["delivered"] += 1
            if rec["is_on_time"]:
                c["on_time"] += 1
                totals["on_time"] += 1
            if rec["is_otif"]:
                c["otif"] += 1
                totals["otif"] += 1
            if rec["billable"]:
                totals["billable"] += 1
                billable_by_currency[rec["currency"]] += s.billable_cents
            for reason in rec["hold_reasons"]:
                holds[reason] += 1
            if rec["hold_reason"]:
                totals["held"] += 1
        if s.carrier_invoices:
            c["invoiced_shipments"] += 1
            c["invoices"] += len(s.carrier_invoices)
            c["invoiced_cents"] += s.carrier_invoiced_cents
            c["invoiced_rated_cost_cents"] += s.rated_cost_cents
            if s.carrier_invoiced_cents != s.rated_cost_cents:
                c["shipments_with_variance"] += 1
        lane = lanes[(s.warehouse_id, s.dest[1], s.carrier.carrier_code)]
        lane[0] += 1
        lane[1] += s.rated_cost_cents
        lane[2] += s.weight_dg
        # Record counts per endpoint (what paging through each must return).
        counts["erp.orders"] += 1
        counts["wms.shipment_confirmations"] += 1 + (s.wms_resent_at is not None)
        counts["wms.inventory_adjustments"] += len(s.adjustments)
        counts["tms.shipments"] += 1
        counts["tms.rated_charges"] += len(s.charges) + len(s.charge_revisions)
        code = s.carrier.carrier_code
        if code == "parcelco":
            counts["carriers.parcelco.events"] += len(s.events)
            counts["carriers.parcelco.tracking_numbers"] += 1
        elif code == "swiftex":
            counts["carriers.swiftex.events"] += len(s.events)
            counts["carriers.swiftex.tracking_numbers"] += 1
        elif code == "tracklane":
            counts["carriers.tracklane.events"] += len(s.events)
        else:
            counts["carriers.ridgeline.214_transaction_sets"] += len(s.events)
            counts["carriers.ridgeline.210_transaction_sets"] += len(s.carrier_invoices)
            counts["carriers.ridgeline.pods"] += len(pod_publications(s))
        if faults.enabled:
            malformed.extend(malformed_keys(s, world, faults))
    out.write("\n],\n")
    add_x12(batcher.finish())

    inventory = inventory_snapshot(world)
    counts["tms.loads"] = world.n_blocks
    counts["erp.customers"] = len(world.customers)
    counts["erp.contracts"] = len(world.customers)
    counts["erp.rate_cards"] = sum(len(c.rate_cards) for c in world.customers)
    counts["erp.credit_holds"] = len(erp_credit_holds(world))
    counts["erp.inventory"] = len(inventory)
    counts["wms.inventory"] = len(inventory)
    counts["wms.warehouses"] = 5
    matching = sum(1 for row in inventory if row[2] == row[3])

    counts["carriers.ridgeline.files"] = sum(1 for k in files if k.startswith("ridgeline/"))
    counts["wms.csv_rows"] = sum(f["records"] for f in files.values() if f["kind"] == "csv")

    carrier_out = {}
    for code, c in carriers.items():
        variance = c["invoiced_cents"] - c["invoiced_rated_cost_cents"]
        carrier_out[code] = {
            "shipments": c["shipments"],
            "delivered": c["delivered"],
            "on_time_pct": _pct(c["on_time"], c["delivered"]),
            "otif_pct": _pct(c["otif"], c["delivered"]),
            "in_full_pct": _pct(c["in_full"], c["shipments"]),
            "freight_cost": money(c["rated_cost_cents"]),
            "freight_cost_per_shipment": money(c["rated_cost_cents"] // c["shipments"])
            if c["shipments"]
            else None,
            "invoiced_shipments": c["invoiced_shipments"],
            "invoices": c["invoices"],
            "invoiced_amount": money(c["invoiced_cents"]),
            "invoiced_rated_cost": money(c["invoiced_rated_cost_cents"]),
            "invoice_variance": money(variance),
            "invoice_variance_pct": round(100.0 * variance / c["invoiced_rated_cost_cents"], 2)
            if c["invoiced_rated_cost_cents"]
            else None,
            "shipments_with_invoice_variance": c["shipments_with_variance"],
        }
    lane_out = [
        {
            "origin_warehouse": o,
            "destination_state": d,
            "carrier_code": code,
            "lane": f"{o}-{d}",
            "shipments": v[0],
            "freight_cost": money(v[1]),
            "freight_cost_per_shipment": money(v[1] // v[0]),
            "weight_kg": f"{v[2] // 10}.{v[2] % 10}",
            "freight_cost_per_kg": f"{v[1] / 100 / (v[2] / 10):.4f}" if v[2] else None,
        }
        for (o, d, code), v in sorted(lanes.items())
    ]
    tail = {
        "carriers": carrier_out,
        "kpis": {
            "shipments": totals["shipments"],
            "delivered": totals["delivered"],
            "on_time_pct": _pct(totals["on_time"], totals["delivered"]),
            "otif_pct": _pct(totals["otif"], totals["delivered"]),
            "in_full_pct": _pct(totals["in_full"], totals["shipments"]),
        },
        "billing": {
            "delivered": totals["delivered"],
            "billable": totals["billable"],
            "held": totals["held"],
            "hold_reasons": dict(sorted(holds.items())),
            "billable_amount_by_currency": {
                k: money(v) for k, v in sorted(billable_by_currency.items())
            },
        },
        "crm": {
            "missing_pod_hours": missing_pod_hours,
            "cases": sum(crm_cases.values()),
            "cases_by_exception": dict(sorted(crm_cases.items())),
            "customer_statuses": dict(sorted(crm_statuses.items())),
        },
        "lanes": lane_out,
        "inventory": {
            "positions": len(inventory),
            "matching": matching,
            "accuracy_pct": _pct(matching, len(inventory)),
        },
        "record_counts": dict(sorted(counts.items())),
        "files": sorted(files.values(), key=lambda x: x["name"]),
        "csv_bad_rows": bad_rows,
        "faults": dict(sorted(faults.rates.items())),
        "malformed": malformed,
        "truncated_files": sorted(k for k, f in files.items() if f.get("truncated")),
    }
    body = json.dumps(tail, indent=1)
    out.write(body[1:])  # drop the leading "{": the object was opened above
    out.write("\n")
