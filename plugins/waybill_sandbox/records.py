"""Record shapes of the ERP, WMS and TMS, rendered from the world (the README documents each field).

Each system formats time its own way: the ERP in America/Chicago with an offset, the WMS in the
warehouse's zone with an offset, the TMS as naive wall-clock time in America/New_York.
"""

from __future__ import annotations

from functools import lru_cache

from waybill_sandbox.lifecycle import REVISION_SUB
from waybill_sandbox.reference import ERP_TZ, TMS_TZ, WAREHOUSES, Customer, RateCard
from waybill_sandbox.rng import rng_for
from waybill_sandbox.timefmt import iso_local, iso_naive_local, local_epoch
from waybill_sandbox.world import Shipment, World, customer_on_hold, money

WMS_INVENTORY_DISCREPANCY = 0.06


def erp_order(s: Shipment, world: World, clock: int | None = None) -> dict:
    """The ERP sales order of a shipment as ``GET /erp/orders`` returns it at ``clock``
    (default: the horizon): RELEASED, then SHIPPED once the ERP learns it, CANCELLED after a
    cancellation."""
    clock = world.as_of if clock is None else clock
    known_shipped = s.erp_updated_at <= clock
    cancelled = s.is_cancelled(clock)
    if cancelled:
        status, updated = "CANCELLED", s.cancelled_at
    elif known_shipped:
        status, updated = "SHIPPED", s.erp_updated_at
    else:
        status, updated = "RELEASED", s.released_at
    return {
        "order_number": s.order_number,
        "customer_id": s.customer.customer_id,
        "customer_po": f"PO-{(s.index * 31 + 7) % 900000 + 100000}",
        "ordered_at": iso_local(s.ordered_at, ERP_TZ),
        "requested_delivery_date": s.requested_delivery_date.isoformat(),
        "ship_from_location_id": s.warehouse_id,
        "ship_to": {
            "name": s.ship_to_name,
            "address_line1": s.ship_to_street,
            "city": s.dest[0],
            "state": s.dest[1],
            "postal_code": s.dest[2],
            "country": "US",
        },
        "lines": [
            {
                "line_number": ln.line_number,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price": money(ln.unit_price_cents),
            }
            for ln in s.lines
        ],
        "status": status,
        "currency": s.customer.currency,
        "updated_at": iso_local(updated or s.released_at, ERP_TZ),
    }


def erp_customer(c: Customer, world: World, clock: int | None = None) -> dict:
    """An ERP customer master record (credit hold as of ``clock``, default the horizon)."""
    return {
        "customer_id": c.customer_id,
        "name": c.name,
        "currency": c.currency,
        "credit_limit": money(c.credit_limit_cents),
        "payment_terms": c.payment_terms,
        "on_credit_hold": customer_on_hold(c, world.as_of if clock is None else clock),
        "created_at": iso_local(local_epoch(c.created_day, 9, 0, ERP_TZ), ERP_TZ),
        "updated_at": iso_local(local_epoch(c.updated_day, 9, 0, ERP_TZ), ERP_TZ),
    }


def card_published(card: RateCard) -> int:
    """When the ERP published a rate card version (its ``updated_at``)."""
    return local_epoch(card.created_at_day or card.effective_from, 9, 0, ERP_TZ)


def erp_contract(c: Customer, world: World, clock: int | None = None) -> dict:
    """The customer's contract header; rates live in its rate card versions (those published by
    ``clock``). ``amendment_policy`` says how a posted invoice is amended; ``approval_limit`` is
    the amount above which finance approves a document (null = none)."""
    clock = world.as_of if clock is None else clock
    return {
        "contract_id": c.contract_id,
        "customer_id": c.customer_id,
        "start_date": c.contract_start.isoformat(),
        "end_date": None,
        "currency": c.currency,
        "payment_terms": c.payment_terms,
        "rate_card_ids": [
            card.rate_card_id for card in c.rate_cards if card_published(card) <= clock
        ],
        "amendment_policy": c.amendment_policy,
        "approval_limit": money(c.approval_limit_cents)
        if c.approval_limit_cents is not None
        else None,
        "updated_at": iso_local(local_epoch(c.updated_day, 9, 0, ERP_TZ), ERP_TZ),
    }


def erp_rate_card(card: RateCard) -> dict:
    """One SCD2 version of a contract's rates (amounts as 2-decimal strings, fuel as percent)."""
    return {
        "rate_card_id": card.rate_card_id,
        "contract_id": card.contract_id,
        "customer_id": card.customer_id,
        "version": card.version,
        "effective_from": card.effective_from.isoformat(),
        "effective_to": card.effective_to.isoformat() if card.effective_to else None,
        "currency": card.currency,
        "rates": {
            "parcel": {
                "base": money(card.parcel_base_cents),
                "per_kg": money(card.parcel_per_kg_cents),
            },
            "ltl": {"base": money(card.ltl_base_cents), "per_kg": money(card.ltl_per_kg_cents)},
            "fuel_surcharge_pct": f"{card.fuel_bp // 100}.{card.fuel_bp % 100:02d}",
            "accessorials": {
                code: money(cents) for code, cents in sorted(card.accessorials.items())
            },
        },
        "updated_at": iso_local(card_published(card), ERP_TZ),
    }


def erp_credit_holds(world: World, clock: int | None = None) -> list[dict]:
    """Every credit-hold episode placed by ``clock`` (default the horizon), released or not by
    then."""
    clock = world.as_of if clock is None else clock
    out = []
    for c in world.customers:
        for n, (placed, released_at, reason) in enumerate(c.credit_holds, start=1):
            if placed > clock:
                continue
            released = released_at if released_at is not None and released_at <= clock else None
            out.append(
                {
                    "credit_hold_id": f"CH-{c.customer_id}-{n:02d}",
                    "customer_id": c.customer_id,
                    "reason": reason,
                    "placed_at": iso_local(placed, ERP_TZ),
                    "released_at": iso_local(released, ERP_TZ) if released is not None else None,
                    "updated_at": iso_local(released if released is not None else placed, ERP_TZ),
                }
            )
    return out


@lru_cache(maxsize=8)
def inventory_snapshot(world: World) -> list[tuple[str, str, int, int]]:
    """(warehouse_id, sku, wms_on_hand, erp_on_hand) per warehouse and SKU at ``as_of`` (cached)."""
    rows = []
    for wh in WAREHOUSES:
        for sku in world.skus:
            r = rng_for(world.seed, "inventory", wh[0], sku.sku)
            wms = r.randint(0, 600)
            erp = wms
            if r.random() < WMS_INVENTORY_DISCREPANCY:
                erp = max(0, wms + r.choice((-12, -5, -2, -1, 1, 3, 8)))
                if erp == wms:
                    erp = wms + 1
            rows.append((wh[0], sku.sku, wms, erp))
    return rows


def erp_inventory_record(row: tuple[str, str, int, int], world: World) -> dict:
    """ERP on-hand for one location and SKU."""
    return {
        "location_id": row[0],
        "sku": row[1],
        "on_hand": row[3],
        "as_of": iso_local(world.as_of, ERP_TZ),
        "updated_at": iso_local(world.as_of - 3600, ERP_TZ),
    }


def wms_inventory_record(row: tuple[str, str, int, int], world: World) -> dict:
    """WMS on-hand for one warehouse and SKU."""
    tz = WAREHOUSES_TZ[row[0]]
    return {
        "warehouse_id": row[0],
        "item_code": row[1],
        "qty_on_hand": row[2],
        "snapshot_at": iso_local(world.as_of, tz),
    }


WAREHOUSES_TZ = {w[0]: w[4] for w in WAREHOUSES}


def wms_warehouse_record(wh: tuple) -> dict:
    """A WMS warehouse (site) with its time zone."""
    return {"warehouse_id": wh[0], "name": wh[1], "city": wh[2], "state": wh[3], "timezone": wh[4]}


def wms_confirmation(s: Shipment, world: World, resent: bool = False) -> dict:
    """The WMS pick/pack/ship confirmation of a shipment (``resent`` marks the duplicate copy)."""
    tz = s.warehouse_tz
    rec = {
        "wms_shipment_id": s.wms_shipment_id,
        "warehouse_id": s.warehouse_id,
        "order_ref": s.order_number,
        "status": "SHIPPED",
        "released_at": iso_local(s.released_at, tz),
        "picked_at": iso_local(s.picked_at, tz),
        "packed_at": iso_local(s.packed_at, tz),
        "shipped_at": iso_local(s.shipped_at, tz),
        "carrier_scac": s.carrier.scac,
        "tracking_number": s.tracking_number if s.carrier.mode == "PARCEL" else None,
        "bol_number": s.bol_number,
        "package_count": s.package_count,
        "weight_kg": s.weight_kg,
        "lines": [
            {
                "line_number": ln.line_number,
                "ordered_item": ln.sku,
                "shipped_item": ln.shipped_sku,
                "ordered_qty": ln.quantity,
                "shipped_qty": ln.shipped_quantity,
                "substituted": ln.substituted,
            }
            for ln in s.lines
        ],
        "sent_at": iso_local(s.wms_resent_at if resent and s.wms_resent_at else s.shipped_at, tz),
    }
    # Schema drift: the WMS upgrade on drift_day added pallet_count.
    if s.ship_date >= world.drift_day:
        rec["pallet_count"] = s.pallet_count
    return rec


def wms_adjustment(s: Shipment, k: int) -> dict:
    """The ``k``-th inventory adjustment attributed to shipment ``s``."""
    a = s.adjustments[k]
    return {
        "adjustment_id": a.adjustment_id,
        "warehouse_id": a.warehouse_id,
        "item_code": a.sku,
        "qty_delta": a.quantity_delta,
        "reason_code": a.reason,
        "adjusted_at": iso_local(a.at, WAREHOUSES_TZ[a.warehouse_id]),
    }


def tms_status(s: Shipment, clock: int) -> str:
    """TENDERED, IN_TRANSIT (picked up) or DELIVERED as of ``clock``."""
    if s.delivered_at is not None and s.delivered_at <= clock:
        return "DELIVERED"
    if any(ev.milestone == "picked_up" and ev.at <= clock for ev in s.events):
        return "IN_TRANSIT"
    return "TENDERED"


def tms_shipment(s: Shipment, clock: int | None = None) -> dict:
    """A TMS shipment as of ``clock`` (default the horizon; naive local timestamps in the TMS
    zone, America/New_York)."""
    ltl = s.carrier.mode == "LTL"
    delivered = s.delivered_at is not None and (clock is None or s.delivered_at <= clock)
    return {
        "tms_shipment_id": s.tms_shipment_id,
        "load_id": s.load_id,
        "customer_reference": s.order_number,
        "bol_number": s.bol_number,
        "carrier_scac": s.carrier.scac,
        "mode": s.carrier.mode,
        "tracking_number": None if ltl else s.tracking_number,
        "pro_number": s.tracking_number if ltl else None,
        "origin_warehouse": s.warehouse_id,
        "destination": {
            "city": s.dest[0],
            "state": s.dest[1],
            "postal_code": s.dest[2],
            "residential": s.residential,
        },
        "weight_kg": s.weight_kg,
        "pallet_count": s.pallet_count,
        "package_count": s.package_count,
        "ship_date": s.ship_date.isoformat(),
        "tendered_at": iso_naive_local(s.tendered_at, TMS_TZ),
        "status": s.tms_status if clock is None else tms_status(s, clock),
        "delivered_at": iso_naive_local(s.delivered_at, TMS_TZ)
        if delivered and s.delivered_at is not None
        else None,
    }


def tms_load(world: World, block: int, clock: int | None = None) -> dict:
    """A TMS load: the (up to three) shipments of one block, one carrier pickup (status as of
    ``clock``, default the horizon)."""
    first = block * 3
    ships = [world.shipment(i) for i in range(first, min(first + 3, world.n))]
    wh_id, _, _, carrier, pickup = world.block_info(block)
    statuses = {s.tms_status if clock is None else tms_status(s, clock) for s in ships}
    return {
        "load_id": ships[0].load_id,
        "carrier_scac": carrier.scac,
        "mode": carrier.mode,
        "origin_warehouse": wh_id,
        "planned_pickup_at": iso_naive_local(pickup, TMS_TZ),
        "tendered_at": iso_naive_local(min(s.tendered_at for s in ships), TMS_TZ),
        "shipment_ids": [s.tms_shipment_id for s in ships],
        "stop_count": len({s.dest[0] for s in ships}),
        "status": "DELIVERED"
        if statuses == {"DELIVERED"}
        else ("IN_TRANSIT" if "TENDERED" not in statuses else "TENDERED"),
    }


def tms_charge(s: Shipment, sub: int) -> dict:
    """A rated charge record of a shipment: sell amount (customer currency) and carrier cost (USD).

    ``sub`` below ``REVISION_SUB`` is charge ``sub`` as first rated (revision 1); above, it is the
    re-publication ``charge_revisions[sub - REVISION_SUB]`` (same charge_id, later revision).
    """
    if sub >= REVISION_SUB:
        rev = s.charge_revisions[sub - REVISION_SUB]
        c = s.charges[rev.charge_index]
        quantity, amount, status, revision, updated = (
            rev.quantity,
            rev.amount_cents,
            rev.status,
            rev.revision,
            rev.at,
        )
    else:
        c = s.charges[sub]
        quantity, amount, status, revision, updated = (
            c.quantity,
            c.amount_cents,
            "ACTIVE",
            1,
            c.created_at,
        )
    created = iso_naive_local(c.created_at, TMS_TZ)
    return {
        "charge_id": charge_id(s, c.charge_number),
        "tms_shipment_id": s.tms_shipment_id,
        "charge_code": c.charge_code,
        "quantity": quantity,
        "unit": c.unit,
        "amount": money(amount),
        "currency": s.customer.currency,
        "cost_amount": money(c.cost_cents),
        "cost_currency": "USD",
        "rate_card_id": c.rate_card_id if c.in_contract else None,
        "rate_source": "CONTRACT" if c.in_contract else "TMS_DEFAULT_TARIFF",
        "created_at": created,
        "status": status,
        "revision": revision,
        "updated_at": created if updated == c.created_at else iso_naive_local(updated, TMS_TZ),
    }


def charge_id(s: Shipment, charge_number: int) -> str:
    """The TMS charge id: ``<tms_shipment_id>-<nn>``."""
    return f"{s.tms_shipment_id}-{charge_number:02d}"


def charge_record_key(rec: dict) -> str:
    """The record key of a rated-charge record for malformed faults (revisions add ``/<n>``)."""
    key = f"rated-charges/{rec['charge_id']}"
    return key if rec["revision"] == 1 else f"{key}/{rec['revision']}"
