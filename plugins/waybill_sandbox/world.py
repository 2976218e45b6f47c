"""The deterministic world: reference data plus shipments generated one at a time.

Shipment ``i`` is a pure function of ``(seed, shipments, start, days, i)``: it is built from
``rng_for(seed, "shipment", i)`` and the RNG of its block of three shipments (which share a
warehouse, a carrier, a ship day and a TMS load), so any slice of the world can be produced
without producing the rest, and iterating a million shipments keeps memory flat.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from waybill_sandbox.reference import (
    ACCESSORIAL_COST_CENTS,
    CARRIER_TARIFF,
    CARRIERS,
    DESTINATIONS,
    DETENTION_COST_CENTS_PER_HOUR,
    ERP_TZ,
    HUBS,
    N_CUSTOMERS,
    TMS_DEFAULT_SELL_CENTS,
    WAREHOUSES,
    Carrier,
    Customer,
    RateCard,
    Sku,
    build_customers,
    build_skus,
)
from waybill_sandbox.rng import rng_for
from waybill_sandbox.timefmt import local_date, local_epoch

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_START = date(2025, 1, 6)
BLOCK = 3  # shipments per TMS load / block
HOUR = 3600
DAY = 86400

MILESTONES = (
    "order_released",
    "picked",
    "packed",
    "shipped",
    "tendered",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "pod_received",
)
EXCEPTIONS = ("delayed", "damaged", "refused", "returned", "lost")

FIRST_NAMES = (
    "J. SMITH",
    "M. GARCIA",
    "A. NGUYEN",
    "R. PATEL",
    "K. JOHNSON",
    "L. BROWN",
    "D. LEE",
    "S. DAVIS",
    "T. MILLER",
    "DOCK 4",
    "FRONT DESK",
    "P. WILSON",
)
STREETS = ("MAIN ST", "OAK AVE", "COMMERCE DR", "INDUSTRIAL PKWY", "MARKET ST", "LAKE RD", "ELM ST")


@dataclass(slots=True)
class OrderLine:
    """An ERP order line and what the WMS actually shipped against it."""

    line_number: int
    sku: str
    quantity: int
    unit_price_cents: int
    shipped_sku: str
    shipped_quantity: int

    @property
    def substituted(self) -> bool:
        """True when the WMS shipped a different SKU."""
        return self.shipped_sku != self.sku

    @property
    def in_full(self) -> bool:
        """True when the ordered SKU shipped at the full ordered quantity."""
        return not self.substituted and self.shipped_quantity >= self.quantity


@dataclass(slots=True)
class CarrierEvent:
    """One tracking event as the carrier saw it: canonical milestone, when, where,
    when published.
    """

    seq: int
    milestone: str  # canonical milestone or exception name
    at: int  # epoch seconds (UTC) when it happened
    city: str
    state: str
    tz: str
    published_at: int  # when the carrier's feed exposed it (late events: hours later)
    duplicate_of: int | None = None  # seq of the original when this is a re-publication


@dataclass(slots=True)
class Charge:
    """A rated charge line: sell amount in customer currency, cost in USD."""

    charge_number: int
    charge_code: str  # LINEHAUL, FUEL, RESIDENTIAL, LIFTGATE, DETENTION, ADDRESS_CORRECTION
    quantity: (
        str  # decimal text: kg for LINEHAUL, hours for DETENTION, linehaul amount for FUEL, else 1
    )
    unit: str
    amount_cents: int
    cost_cents: int
    created_at: int
    in_contract: bool
    rate_card_id: str


@dataclass(slots=True)
class ChargeRevision:
    """A later revision of rated charge ``charge_index`` (re-published under the same charge_id)."""

    charge_index: int
    revision: int
    at: int
    quantity: str
    amount_cents: int
    status: str  # ACTIVE | VOIDED


@dataclass(slots=True)
class DisputePlan:
    """A customer's plan to dispute the shipment's live invoice (raised only if one exists)."""

    raise_at: int
    resolve_at: int | None  # None when it would resolve after the horizon
    outcome: str  # accepted | rejected
    reason: str
    pct: int  # disputed share of the live invoice total, percent


@dataclass(slots=True)
class ChargeView:
    """A rated charge as visible at some instant: its latest revision by then."""

    index: int
    charge: Charge
    revision: int
    quantity: str
    amount_cents: int
    status: str
    updated_at: int


@dataclass(slots=True)
class CarrierInvoice:
    """A carrier freight invoice (X12 210) for one shipment; lines are (charge code, cents)."""

    invoice_number: str
    invoiced_at: int
    lines: list[tuple[str, str, int]]  # (L1 special charge code, description, cents)
    supplemental: bool

    @property
    def total_cents(self) -> int:
        """B3-07: the sum of the lines."""
        return sum(c for _, _, c in self.lines)


@dataclass(slots=True)
class InventoryAdjustment:
    """A WMS inventory adjustment (cycle count, damage, receipt correction)."""

    adjustment_id: str
    warehouse_id: str
    sku: str
    quantity_delta: int
    reason: str
    at: int


@dataclass(slots=True)
class Shipment:
    """Everything that happened to one order/shipment, across all systems, up to ``as_of``."""

    index: int
    block: int
    order_number: str
    customer: Customer
    carrier: Carrier
    warehouse_id: str
    warehouse_tz: str
    dest: tuple[str, str, str, str, int]
    ship_to_name: str
    ship_to_street: str
    residential: bool
    lines: list[OrderLine]
    ordered_at: int
    requested_delivery_date: date
    promised_delivery_at: int
    released_at: int
    picked_at: int
    packed_at: int
    tendered_at: int
    shipped_at: int
    ship_date: date  # warehouse-local date of shipped_at: the date contract rates are taken on
    erp_updated_at: int
    wms_shipment_id: str
    wms_resent_at: int | None
    tms_shipment_id: str
    load_id: str
    bol_number: str
    tracking_number: str  # parcel tracking number, or LTL PRO number
    weight_dg: int
    package_count: int
    pallet_count: int
    events: list[CarrierEvent]
    delivered_at: int | None
    pod_at: int | None
    pod_signed_by: str | None
    exceptions: list[str]
    charges: list[Charge]
    rate_card: RateCard
    carrier_invoices: list[CarrierInvoice]
    adjustments: list[InventoryAdjustment]
    tms_status: str
    milestones: dict[str, int] = field(default_factory=dict)
    # --- post-delivery lifecycle (only with World(changes > 0); see lifecycle.py) -------------
    first_billable_at: int | None = None
    change_kind: str | None = None
    change_at: int | None = None
    charge_revisions: list[ChargeRevision] = field(default_factory=list)
    pod_reversed_at: int | None = None
    pod_corrected_at: int | None = None
    cancelled_at: int | None = None
    dispute: DisputePlan | None = None

    # --- truth -----------------------------------------------------------------------------
    @property
    def is_in_full(self) -> bool:
        """Every order line shipped its ordered SKU at the full ordered quantity."""
        return all(line.in_full for line in self.lines)

    @property
    def is_on_time(self) -> bool | None:
        """Delivered no later than the promise (end of requested date, ERP time zone);
        None if not delivered.
        """
        if self.delivered_at is None:
            return None
        return self.delivered_at <= self.promised_delivery_at

    @property
    def billable_cents(self) -> int:
        """Sum of every final rated sell charge (customer currency; latest revisions, voided = 0)."""
        return sum(v.amount_cents for v in self.charge_views(None) if v.status == "ACTIVE")

    def charge_views(self, at: int | None) -> list[ChargeView]:
        """Every rated charge created by ``at`` (None = all), each at its latest revision by then."""
        views = [
            ChargeView(k, c, 1, c.quantity, c.amount_cents, "ACTIVE", c.created_at)
            for k, c in enumerate(self.charges)
            if at is None or c.created_at <= at
        ]
        by_index = {v.index: v for v in views}
        for rev in self.charge_revisions:
            view = by_index.get(rev.charge_index)
            if view is not None and (at is None or rev.at <= at) and rev.revision > view.revision:
                view.revision, view.quantity = rev.revision, rev.quantity
                view.amount_cents, view.status, view.updated_at = (
                    rev.amount_cents,
                    rev.status,
                    rev.at,
                )
        return views

    def pod_valid(self, at: int) -> bool:
        """True when a POD is received by ``at`` and not reversed (or reversed and corrected)."""
        if self.pod_at is None or self.pod_at > at:
            return False
        if self.pod_reversed_at is None or self.pod_reversed_at > at:
            return True
        return self.pod_corrected_at is not None and self.pod_corrected_at <= at

    def is_cancelled(self, at: int) -> bool:
        """True when the order was cancelled by ``at``."""
        return self.cancelled_at is not None and self.cancelled_at <= at

    @property
    def rated_cost_cents(self) -> int:
        """Sum of the rated carrier cost (USD)."""
        return sum(c.cost_cents for c in self.charges)

    @property
    def carrier_invoiced_cents(self) -> int:
        """Sum of the carrier's 210 invoices for this shipment (USD)."""
        return sum(inv.total_cents for inv in self.carrier_invoices)

    def hold_reasons(self, as_of: int) -> list[str]:
        """Why a delivered shipment must not be billed yet, in priority order (empty when clean)."""
        if self.delivered_at is None:
            return []
        reasons = []
        if not self.pod_valid(as_of):
            reasons.append("missing_pod")
        if "damaged" in self.exceptions:
            reasons.append("open_exception")
        if customer_on_hold(self.customer, as_of):
            reasons.append("credit_hold")
        if any(not v.charge.in_contract for v in self.charge_views(as_of) if v.status == "ACTIVE"):
            reasons.append("charge_out_of_contract")
        if self.is_cancelled(as_of):
            reasons.append("cancelled")
        return reasons

    @property
    def weight_kg(self) -> str:
        """Shipped weight in kilograms as decimal text."""
        return f"{self.weight_dg // 10}.{self.weight_dg % 10}"


def customer_on_hold(customer: Customer, at: int) -> bool:
    """True when a credit hold of the customer was placed by ``at`` and not released by then."""
    return any(
        placed <= at and (released is None or released > at)
        for placed, released, _ in customer.credit_holds
    )


def money(cents: int) -> str:
    """Format cents as a 2-decimal string (``-12.30``)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _round_div(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero (for non-negative inputs: half up)."""
    return (numerator + denominator // 2) // denominator


class World:
    """A deterministic logistics world of ``shipments`` orders over ``days`` days from ``start``.

    Reference data is built eagerly (it is small); shipments are generated on demand by
    :meth:`shipment` or streamed by :meth:`iter_shipments`. ``as_of`` (the world's end, midnight
    ERP time after the last day) is the instant every API and the truth describe.
    """

    def __init__(
        self,
        seed: int,
        shipments: int,
        start: date | None = None,
        days: int | None = None,
        changes: float = 0.0,
    ):
        if shipments < 1:
            raise ValueError(f"shipments must be at least 1, got {shipments}")
        if not 0.0 <= changes <= 1.0:
            raise ValueError(f"changes: rate {changes} outside 0..1")
        self.changes = float(changes)
        self.seed = int(seed)
        self.n = int(shipments)
        self.start = start or DEFAULT_START
        self.days = int(days) if days else max(7, min(365, -(-self.n // 40)))
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        self.end = self.start + timedelta(days=self.days)
        self.start_epoch = local_epoch(self.start, 0, 0, ERP_TZ)
        self.as_of = local_epoch(self.end, 0, 0, ERP_TZ)
        # Schema drift: fields that appear mid-stream start on this day.
        self.drift_day = self.start + timedelta(days=self.days // 2)
        self.n_blocks = -(-self.n // BLOCK)
        self.skus: tuple[Sku, ...] = build_skus(self.seed)
        self.customers: tuple[Customer, ...] = build_customers(
            self.seed, self.start, self.days, self.as_of, self.start_epoch
        )
        # Skewed customer mix: a few large accounts, a long tail.
        self._customer_cum = list(
            itertools.accumulate(1.0 / (k + 1) ** 0.8 for k in range(N_CUSTOMERS))
        )
        self._carrier_cum = list(itertools.accumulate(c.share for c in CARRIERS))
        self.shipment = lru_cache(maxsize=8192)(self._build_shipment)

    # --- iteration -----------------------------------------------------------------------------
    def iter_shipments(self, start: int = 0, stop: int | None = None) -> Iterator[Shipment]:
        """Yield shipments ``start``..``stop-1`` in index order (bypasses the cache:
        constant memory).
        """
        stop = self.n if stop is None else min(stop, self.n)
        for i in range(max(0, start), stop):
            yield self._build_shipment(i)

    def block_day(self, block: int) -> date:
        """Ship day (warehouse-local) of a block; non-decreasing in the block index."""
        return self.start + timedelta(days=block * self.days // self.n_blocks)

    def block_info(self, block: int) -> tuple[str, str, int, Carrier, int]:
        """Return (warehouse_id, warehouse tz, warehouse region, carrier,
        pickup epoch) of a block.
        """
        r = rng_for(self.seed, "block", block)
        wh = WAREHOUSES[r.randrange(len(WAREHOUSES))]
        carrier = CARRIERS[
            bisect.bisect_right(self._carrier_cum, r.random() * self._carrier_cum[-1])
        ]
        pickup = local_epoch(
            self.block_day(block), r.randint(16, 18), r.choice((0, 15, 30, 45)), wh[4]
        )
        return wh[0], wh[4], wh[5], carrier, pickup

    # --- generation ----------------------------------------------------------------------------
    def _build_shipment(self, i: int) -> Shipment:
        if not 0 <= i < self.n:
            raise IndexError(f"shipment index {i} outside 0..{self.n - 1}")
        seed = self.seed
        block = i // BLOCK
        wh_id, wh_tz, wh_region, carrier, pickup = self.block_info(block)
        r = rng_for(seed, "shipment", i)
        ltl = carrier.mode == "LTL"
        cust = self.customers[
            bisect.bisect_right(self._customer_cum, r.random() * self._customer_cum[-1])
        ]
        dest = DESTINATIONS[r.randrange(len(DESTINATIONS))]
        residential = r.random() < (0.10 if ltl else 0.22)

        # Order lines, and what the warehouse shipped (short picks, substitutions).
        lines = []
        weight = 0
        for n in range(1, r.randint(1, 5 if ltl else 4) + 1):
            sku = self.skus[r.randrange(len(self.skus))]
            qty = r.randint(10, 80) if ltl else r.randint(1, 6)
            shipped_sku, shipped_qty = sku, qty
            roll = r.random()
            if roll < 0.035:
                shipped_qty = qty - r.randint(1, qty)
            elif roll < 0.055:
                shipped_sku = self.skus[(self.skus.index(sku) + r.randint(1, 9)) % len(self.skus)]
            lines.append(
                OrderLine(n, sku.sku, qty, sku.unit_price_cents, shipped_sku.sku, shipped_qty)
            )
            weight += shipped_sku.unit_weight_dg * shipped_qty
        package_count = max(1, sum(ln.shipped_quantity for ln in lines) // (12 if ltl else 3) + 1)
        pallet_count = max(1, -(-weight // 4000)) if ltl else 0
        weight += pallet_count * 250 + package_count * 3

        # WMS / TMS timeline (all before the block's carrier pickup).
        shipped_at = pickup - r.randint(10, 90) * 60
        packed_at = shipped_at - r.randint(20, 120) * 60
        picked_at = packed_at - r.randint(10, 90) * 60
        released_at = picked_at - r.randint(60, 300) * 60
        ordered_at = released_at - r.randint(2 * 60, 48 * 60) * 60
        tendered_at = pickup - r.randint(120, 300) * 60
        ship_date = local_date(shipped_at, wh_tz)
        transit = 1 + abs(wh_region - dest[4]) + (1 if ltl else 0)
        requested = ship_date + timedelta(days=transit + r.choice((0, 0, 1, 1, 2)))
        promised = local_epoch(requested + timedelta(days=1), 0, 0, ERP_TZ) - 1
        # The ERP learns the shipment from the WMS with a lag, and stamps updated_at then.
        erp_updated_at = shipped_at + r.randint(5, 240) * 60

        # Carrier journey.
        fate = r.random()
        lost = fate < 0.002
        damaged = 0.002 <= fate < 0.008
        delay = r.choice((1, 1, 2)) if r.random() < 0.09 else 0
        deliver_day = ship_date + timedelta(days=transit + delay)
        delivered_planned = local_epoch(deliver_day, r.randint(9, 17), r.randint(0, 59), dest[3])
        events: list[tuple[str, int, str, str, str]] = []
        if not ltl:
            events.append(
                (
                    "tendered",
                    tendered_at,
                    WAREHOUSES_BY_ID[wh_id][2],
                    WAREHOUSES_BY_ID[wh_id][3],
                    wh_tz,
                )
            )
        wh_row = WAREHOUSES_BY_ID[wh_id]
        picked_up_at = pickup + r.randint(0, 40) * 60
        events.append(("picked_up", picked_up_at, wh_row[2], wh_row[3], wh_tz))
        n_hubs = min(3, 1 + abs(wh_region - dest[4]))
        span = max(HOUR, delivered_planned - picked_up_at - 4 * HOUR)
        for h in range(n_hubs):
            hub = HUBS[(block + h + r.randrange(len(HUBS))) % len(HUBS)]
            events.append(
                (
                    "in_transit",
                    picked_up_at + span * (h + 1) // (n_hubs + 1),
                    hub[0],
                    hub[1],
                    hub[2],
                )
            )
        if delay:
            due = local_epoch(ship_date + timedelta(days=transit), r.randint(6, 11), 0, dest[3])
            events.append(("delayed", due, events[-1][2], events[-1][3], events[-1][4]))
        if damaged:
            last = events[-1]
            events.append(("damaged", last[1] + r.randint(1, 3) * HOUR, last[2], last[3], last[4]))
        delivered_at: int | None = None
        pod_at: int | None = None
        pod_signed_by = None
        exceptions = []
        if damaged:
            exceptions.append("damaged")
        if delay:
            exceptions.append("delayed")
        if lost:
            exceptions.append("lost")
        else:
            ofd = local_epoch(deliver_day, 7, r.randint(0, 59), dest[3])
            events.append(
                ("out_for_delivery", min(ofd, delivered_planned - 600), dest[0], dest[1], dest[3])
            )
            events.append(("delivered", delivered_planned, dest[0], dest[1], dest[3]))
            if delivered_planned <= self.as_of:
                delivered_at = delivered_planned
                if r.random() < (0.94 if ltl else 0.97):
                    candidate = (
                        delivered_at
                        + (r.randint(2 * 60, 72 * 60) if ltl else r.randint(5, 120)) * 60
                    )
                    if candidate <= self.as_of:
                        pod_at = candidate
                        pod_signed_by = FIRST_NAMES[r.randrange(len(FIRST_NAMES))]
        # Only what happened by as_of exists; publication lags (late events) are clipped to as_of.
        carrier_events: list[CarrierEvent] = []
        for seq, (milestone, at, city, state, tz) in enumerate(sorted(events, key=lambda e: e[1])):
            if at > self.as_of:
                break
            lag = r.randint(6 * 60, 48 * 60) * 60 if r.random() < 0.07 else r.randint(1, 30) * 60
            carrier_events.append(
                CarrierEvent(seq, milestone, at, city, state, tz, min(at + lag, self.as_of))
            )
        for ev in list(carrier_events):
            if r.random() < 0.03:
                carrier_events.append(
                    CarrierEvent(
                        len(carrier_events),
                        ev.milestone,
                        ev.at,
                        ev.city,
                        ev.state,
                        ev.tz,
                        min(ev.published_at + r.randint(5, 600) * 60, self.as_of),
                        ev.seq,
                    )
                )

        # Rated charges: sell side from the contract version in force on the ship date.
        card = cust.rate_card_on(ship_date)
        c_base, c_per_kg, c_fuel = CARRIER_TARIFF[carrier.carrier_code]
        base, per_kg = (
            (card.ltl_base_cents, card.ltl_per_kg_cents)
            if ltl
            else (card.parcel_base_cents, card.parcel_per_kg_cents)
        )
        linehaul = base + _round_div(per_kg * weight, 10)
        linehaul_cost = c_base + _round_div(c_per_kg * weight, 10)
        charges = [
            Charge(
                1,
                "LINEHAUL",
                self_kg(weight),
                "KG",
                linehaul,
                linehaul_cost,
                tendered_at,
                True,
                card.rate_card_id,
            ),
            Charge(
                2,
                "FUEL",
                money(linehaul),
                card.currency,
                _round_div(linehaul * card.fuel_bp, 10000),
                _round_div(linehaul_cost * c_fuel, 10000),
                tendered_at,
                True,
                card.rate_card_id,
            ),
        ]

        def accessorial(code: str, created: int, qty: int = 1, unit: str = "EA") -> None:
            contract_rate = card.accessorials.get(code)
            if code == "DETENTION":
                sell = (contract_rate or 9000) * qty
                cost = DETENTION_COST_CENTS_PER_HOUR * qty
            else:
                sell = contract_rate if contract_rate is not None else TMS_DEFAULT_SELL_CENTS[code]
                cost = ACCESSORIAL_COST_CENTS[code]
            charges.append(
                Charge(
                    len(charges) + 1,
                    code,
                    str(qty),
                    unit,
                    sell,
                    cost,
                    created,
                    contract_rate is not None,
                    card.rate_card_id,
                )
            )

        if residential:
            accessorial("RESIDENTIAL", tendered_at)
        if ltl and (residential or r.random() < 0.25):
            accessorial("LIFTGATE", tendered_at)
        # Surcharges that arrive after delivery (only those raised by as_of exist).
        if delivered_at is not None:
            if ltl and r.random() < 0.10:
                created = delivered_at + r.randint(1, 72) * HOUR
                if created <= self.as_of:
                    accessorial("DETENTION", created, r.randint(1, 4), "HOUR")
            if not ltl and r.random() < 0.02:
                created = delivered_at + r.randint(1, 5) * DAY
                if created <= self.as_of:
                    accessorial("ADDRESS_CORRECTION", created)

        # Carrier freight invoices (LTL only, via X12 210), some with variances against rated cost.
        invoices: list[CarrierInvoice] = []
        if ltl and delivered_at is not None:
            inv_at = delivered_at + r.randint(1, 4) * DAY
            if inv_at <= self.as_of:
                inv_lines = []
                for ch in charges:
                    if ch.charge_code == "DETENTION":
                        continue
                    code, desc = X12_CHARGE[ch.charge_code]
                    inv_lines.append((code, desc, ch.cost_cents))
                roll = r.random()
                if roll < 0.08:
                    inv_lines[0] = (
                        inv_lines[0][0],
                        inv_lines[0][1],
                        inv_lines[0][2] + _round_div(inv_lines[0][2] * r.randint(3, 15), 100),
                    )
                elif roll < 0.12:
                    inv_lines.append(
                        ("DSC", "DISCOUNT", -_round_div(inv_lines[0][2] * r.randint(2, 6), 100))
                    )
                invoices.append(
                    CarrierInvoice(f"RI{(i * 7919 + 104729) % 10**8:08d}", inv_at, inv_lines, False)
                )
                for ch in charges:
                    if ch.charge_code == "DETENTION":
                        sup_at = max(ch.created_at, inv_at) + r.randint(1, 3) * DAY
                        if sup_at <= self.as_of:
                            invoices.append(
                                CarrierInvoice(
                                    invoices[0].invoice_number + "A",
                                    sup_at,
                                    [("DET", f"DETENTION {ch.quantity} HR", ch.cost_cents)],
                                    True,
                                )
                            )

        # WMS inventory adjustments attributed to this shipment's slot (same warehouse and day).
        adjustments = []
        if r.random() < 0.15:
            adj_at = local_epoch(ship_date, r.randint(6, 21), r.randint(0, 59), wh_tz)
            delta = r.choice((-5, -3, -2, -1, -1, 1, 1, 2, 4))
            adjustments.append(
                InventoryAdjustment(
                    f"ADJ{i + 1:08d}",
                    wh_id,
                    self.skus[r.randrange(len(self.skus))].sku,
                    delta,
                    r.choice(("CYCLE_COUNT", "CYCLE_COUNT", "DAMAGE", "RECEIPT_CORRECTION")),
                    min(adj_at, self.as_of),
                )
            )

        wms_resent_at = shipped_at + r.randint(1, 24) * HOUR if r.random() < 0.015 else None
        if wms_resent_at is not None and wms_resent_at > self.as_of:
            wms_resent_at = None

        milestones = {
            "order_released": released_at,
            "picked": picked_at,
            "packed": packed_at,
            "shipped": shipped_at,
            "tendered": tendered_at,
        }
        for ev in carrier_events:
            if (
                ev.duplicate_of is None
                and ev.milestone in MILESTONES
                and ev.milestone not in milestones
            ):
                milestones[ev.milestone] = ev.at
        if not carrier.proof_of_delivery:  # decided after the draws: other shipments unchanged
            pod_at, pod_signed_by = None, None
        if pod_at is not None:
            milestones["pod_received"] = pod_at
        if delivered_at is not None:
            tms_status = "DELIVERED"
        elif any(ev.milestone == "picked_up" for ev in carrier_events):
            tms_status = "IN_TRANSIT"
        else:
            tms_status = "TENDERED"

        dest_name = (
            f"{cust.name.upper()} #{r.randint(100, 999)}" if not residential else FIRST_NAMES[i % 9]
        )
        shipment = Shipment(
            index=i,
            block=block,
            order_number=f"SO-{1000001 + i}",
            customer=cust,
            carrier=carrier,
            warehouse_id=wh_id,
            warehouse_tz=wh_tz,
            dest=dest,
            ship_to_name=dest_name,
            ship_to_street=f"{r.randint(1, 9999)} {STREETS[r.randrange(len(STREETS))]}",
            residential=residential,
            lines=lines,
            ordered_at=ordered_at,
            requested_delivery_date=requested,
            promised_delivery_at=promised,
            released_at=released_at,
            picked_at=picked_at,
            packed_at=packed_at,
            tendered_at=tendered_at,
            shipped_at=shipped_at,
            ship_date=ship_date,
            erp_updated_at=erp_updated_at,
            wms_shipment_id=f"{wh_id}-S{i + 1:08d}",
            wms_resent_at=wms_resent_at,
            tms_shipment_id=f"TS{(i * 7919 + 1000003) % 10**8:08d}",
            load_id=f"LD{block + 300001}",
            bol_number=f"BOL{i + 5000001:08d}",
            tracking_number=tracking_number(carrier.carrier_code, i),
            weight_dg=weight,
            package_count=package_count,
            pallet_count=pallet_count,
            events=carrier_events,
            delivered_at=delivered_at,
            pod_at=pod_at,
            pod_signed_by=pod_signed_by,
            exceptions=exceptions,
            charges=charges,
            rate_card=card,
            carrier_invoices=invoices,
            adjustments=adjustments,
            tms_status=tms_status,
            milestones=milestones,
        )
        if self.changes > 0:
            from waybill_sandbox.lifecycle import apply_lifecycle

            apply_lifecycle(shipment, self)
        return shipment


WAREHOUSES_BY_ID = {w[0]: w for w in WAREHOUSES}
X12_CHARGE = {
    "LINEHAUL": ("400", "LINEHAUL"),
    "FUEL": ("FUE", "FUEL SURCHARGE"),
    "RESIDENTIAL": ("RES", "RESIDENTIAL DELIVERY"),
    "LIFTGATE": ("LFT", "LIFTGATE SERVICE"),
    "DETENTION": ("DET", "DETENTION"),
}


def self_kg(weight_dg: int) -> str:
    """Tenths of a kilogram as decimal text."""
    return f"{weight_dg // 10}.{weight_dg % 10}"


def tracking_number(carrier_code: str, i: int) -> str:
    """The carrier's own identifier for shipment ``i``: UPS-like 1Z…, 12-digit numeric, or a
    10-digit PRO.

    Each is a bijection of ``i`` (multiplier coprime with the modulus), so numbers never collide.
    """
    if carrier_code == "parcelco":
        return f"1Z4W7E61{'03'}{(i * 48271 + 12345) % 10**8:08d}"
    if carrier_code == "swiftex":
        return f"{(i * 7777777777 + 271828182845) % 10**12:012d}"
    if carrier_code == "tracklane":
        return f"9400{(i * 982451653 + 31337) % 10**18:018d}"
    return f"{(i * 7919 + 1234567) % 10**9 + 10**9}"
