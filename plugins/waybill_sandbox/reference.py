"""Reference data of the sandbox world: warehouses, destinations, carriers, SKUs, customers,
contracts.

Everything here is small (tens to hundreds of rows) and derived from the seed alone, so every
shipment generator can look it up without holding shipments in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from waybill_sandbox.rng import rng_for

ERP_TZ = "America/Chicago"
TMS_TZ = "America/New_York"

# Region index (west=0 … east=3) drives transit days: 1 + |origin region - destination region|.
WAREHOUSES: tuple[tuple[str, str, str, str, str, int], ...] = (
    # warehouse_id, name, city, state, time zone, region
    ("DAL1", "Dallas DC", "DALLAS", "TX", "America/Chicago", 2),
    ("RNO1", "Reno DC", "RENO", "NV", "America/Los_Angeles", 0),
    ("ATL1", "Atlanta DC", "ATLANTA", "GA", "America/New_York", 3),
    ("PHX1", "Phoenix DC", "PHOENIX", "AZ", "America/Phoenix", 1),
    ("CMH1", "Columbus DC", "COLUMBUS", "OH", "America/New_York", 3),
)

DESTINATIONS: tuple[tuple[str, str, str, str, int], ...] = (
    # city, state, postal code, time zone, region
    ("SEATTLE", "WA", "98101", "America/Los_Angeles", 0),
    ("PORTLAND", "OR", "97205", "America/Los_Angeles", 0),
    ("SACRAMENTO", "CA", "95814", "America/Los_Angeles", 0),
    ("LOS ANGELES", "CA", "90012", "America/Los_Angeles", 0),
    ("DENVER", "CO", "80202", "America/Denver", 1),
    ("SALT LAKE CITY", "UT", "84101", "America/Denver", 1),
    ("ALBUQUERQUE", "NM", "87102", "America/Denver", 1),
    ("CHICAGO", "IL", "60601", "America/Chicago", 2),
    ("MINNEAPOLIS", "MN", "55401", "America/Chicago", 2),
    ("HOUSTON", "TX", "77002", "America/Chicago", 2),
    ("KANSAS CITY", "MO", "64105", "America/Chicago", 2),
    ("NEW YORK", "NY", "10001", "America/New_York", 3),
    ("BOSTON", "MA", "02110", "America/New_York", 3),
    ("MIAMI", "FL", "33131", "America/New_York", 3),
    ("CHARLOTTE", "NC", "28202", "America/New_York", 3),
    ("DETROIT", "MI", "48226", "America/Detroit", 3),
)

# Hubs used for in-transit scans, per region.
HUBS: tuple[tuple[str, str, str], ...] = (
    ("ONTARIO", "CA", "America/Los_Angeles"),
    ("SALT LAKE CITY", "UT", "America/Denver"),
    ("LOUISVILLE", "KY", "America/New_York"),
    ("INDIANAPOLIS", "IN", "America/Indiana/Indianapolis"),
    ("MEMPHIS", "TN", "America/Chicago"),
)

TZ_X12_CODE = {
    "America/Los_Angeles": "PT",
    "America/Denver": "MT",
    "America/Phoenix": "MT",
    "America/Chicago": "CT",
    "America/New_York": "ET",
    "America/Detroit": "ET",
    "America/Indiana/Indianapolis": "ET",
}


@dataclass(frozen=True)
class Carrier:
    """A carrier: its code in the truth, SCAC, mode and how it reports."""

    carrier_code: str
    scac: str
    name: str
    mode: str  # "PARCEL" or "LTL"
    share: float
    proof_of_delivery: bool = True  # False: the carrier's tracking never shows a signed POD


CARRIERS: tuple[Carrier, ...] = (
    Carrier("parcelco", "PRCL", "ParcelCo", "PARCEL", 0.40),
    Carrier("swiftex", "SWFX", "SwiftEx", "PARCEL", 0.30),
    Carrier("ridgeline", "RDGL", "Ridgeline Freight", "LTL", 0.20),
    # Tracked only through a shipping aggregator (Shippo's Track format), which shows no POD.
    # Last, so the other carriers' blocks draw as before (it takes a third of Ridgeline's).
    Carrier("tracklane", "TRKL", "TrackLane", "PARCEL", 0.10, proof_of_delivery=False),
)
CARRIER_BY_CODE = {c.carrier_code: c for c in CARRIERS}

# Carrier buy-side tariff (USD): what the carrier charges us, as a fraction of a reference sell
# rate.
CARRIER_TARIFF = {
    # carrier_code: (base cents, per-kg cents, fuel basis points)
    "parcelco": (690, 78, 1150),
    "swiftex": (660, 81, 1200),
    "ridgeline": (7800, 17, 2400),
    "tracklane": (640, 74, 1100),
}
ACCESSORIAL_COST_CENTS = {"LIFTGATE": 5500, "RESIDENTIAL": 425, "ADDRESS_CORRECTION": 1900}
DETENTION_COST_CENTS_PER_HOUR = 6500
# Charges the TMS rates at its own default tariff when the contract has no rate for them.
TMS_DEFAULT_SELL_CENTS = {"RESIDENTIAL": 600, "LIFTGATE": 8500, "ADDRESS_CORRECTION": 2500}

NAME_A = (
    "Acme",
    "Blue",
    "Cedar",
    "Delta",
    "Evergreen",
    "Fox",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Maple",
    "North",
    "Orchard",
    "Pioneer",
    "Quarry",
    "River",
    "Summit",
    "Timber",
    "Union",
    "Valley",
    "Willow",
    "Yellowstone",
    "Zenith",
)
NAME_B = (
    "Supply",
    "Outfitters",
    "Home Goods",
    "Industrial",
    "Foods",
    "Health",
    "Hardware",
    "Retail",
    "Pet Co",
    "Electric",
)
SKU_WORDS = (
    "WIDGET",
    "BRACKET",
    "VALVE",
    "CABLE",
    "FILTER",
    "PANEL",
    "BOLT KIT",
    "PUMP",
    "LAMP",
    "HOSE",
    "SENSOR",
    "MOTOR",
    "TRAY",
    "CASE",
    "BOARD",
)


@dataclass(frozen=True)
class Sku:
    """A stock-keeping unit with unit weight (tenths of kg) and list price (cents)."""

    sku: str
    description: str
    unit_weight_dg: int  # tenths of a kilogram
    unit_price_cents: int


@dataclass(frozen=True)
class RateCard:
    """One SCD2 version of a customer's contract rates (sell side, customer currency)."""

    rate_card_id: str
    contract_id: str
    customer_id: str
    version: int
    effective_from: date
    effective_to: date | None  # inclusive; None = open-ended
    currency: str
    parcel_base_cents: int
    parcel_per_kg_cents: int
    ltl_base_cents: int
    ltl_per_kg_cents: int
    fuel_bp: int  # fuel surcharge in basis points of linehaul
    accessorials: dict[str, int] = field(default_factory=dict)  # code -> cents (DETENTION per hour)
    created_at_day: date | None = None


@dataclass(frozen=True)
class Customer:
    """An ERP customer with its contract and the ordered list of its rate card versions."""

    customer_id: str
    name: str
    currency: str
    credit_limit_cents: int
    payment_terms: str
    contract_id: str
    contract_start: date
    rate_cards: tuple[RateCard, ...]
    credit_holds: tuple[
        tuple[int, int | None, str], ...
    ]  # (placed epoch, released epoch|None, reason)
    created_day: date
    updated_day: date
    amendment_policy: str = "credit_and_rebill"  # or "adjustment"
    approval_limit_cents: int | None = None

    def rate_card_on(self, day: date) -> RateCard:
        """Return the rate card version in force on ``day``
        (the first version if ``day`` precedes all).
        """
        chosen = self.rate_cards[0]
        for card in self.rate_cards:
            if card.effective_from <= day:
                chosen = card
        return chosen


N_SKUS = 200
N_CUSTOMERS = 25


def build_skus(seed: int) -> tuple[Sku, ...]:
    """Return the SKU catalogue for ``seed``."""
    skus = []
    for k in range(N_SKUS):
        r = rng_for(seed, "sku", k)
        skus.append(
            Sku(
                sku=f"SKU-{10000 + k}",
                description=f"{r.choice(SKU_WORDS)} {r.choice('ABCDEFGHJK')}{r.randint(10, 99)}",
                unit_weight_dg=r.randint(2, 150),
                unit_price_cents=r.randint(500, 40000),
            )
        )
    return tuple(skus)


def contract_policy(seed: int, k: int) -> dict:
    """Customer ``k``'s amendment policy (``credit_and_rebill`` ~70 %, else ``adjustment``) and
    finance approval limit (about a third: 500.00..3000.00), from their own RNG stream."""
    r = rng_for(seed, "contract-policy", k)
    policy = "credit_and_rebill" if r.random() < 0.7 else "adjustment"
    limit = r.randint(500, 3000) * 100 if r.random() < 1 / 3 else None
    return {"amendment_policy": policy, "approval_limit_cents": limit}


def build_customers(
    seed: int, start: date, days: int, as_of_epoch: int, start_epoch: int
) -> tuple[Customer, ...]:
    """Return the customers, with contracts, rate card versions and credit-hold episodes."""
    customers = []
    for k in range(N_CUSTOMERS):
        r = rng_for(seed, "customer", k)
        cid = f"C{k + 1:04d}"
        currency = "CAD" if k % 9 == 4 else "USD"
        contract_id = f"CT-{cid}-01"
        contract_start = start - timedelta(days=r.randint(30, 400))
        # Rate changes inside the world's window make the SCD2 join matter.
        n_changes = r.choice((0, 1, 1, 2)) if days >= 20 else 0
        change_days = sorted(
            {start + timedelta(days=r.randint(5, max(6, days - 5))) for _ in range(n_changes)}
        )
        froms = [contract_start, *change_days]
        drop_residential = r.random() < 0.2
        cards = []
        factor = 1.0
        base = (r.randint(850, 1100), r.randint(90, 130), r.randint(9000, 14000), r.randint(20, 32))
        fuel = r.randint(900, 1600)
        acc = {"LIFTGATE": r.randint(6500, 9500), "DETENTION": r.randint(7500, 9500)}
        if not drop_residential:
            acc["RESIDENTIAL"] = r.randint(450, 650)
        for v, eff in enumerate(froms):
            if v:
                factor *= 1 + r.randint(2, 8) / 100
            to = froms[v + 1] - timedelta(days=1) if v + 1 < len(froms) else None
            cards.append(
                RateCard(
                    rate_card_id=f"RC-{cid}-{v + 1:02d}",
                    contract_id=contract_id,
                    customer_id=cid,
                    version=v + 1,
                    effective_from=eff,
                    effective_to=to,
                    currency=currency,
                    parcel_base_cents=round(base[0] * factor),
                    parcel_per_kg_cents=round(base[1] * factor),
                    ltl_base_cents=round(base[2] * factor),
                    ltl_per_kg_cents=round(base[3] * factor),
                    fuel_bp=fuel + 25 * v,
                    accessorials={code: round(c * factor) for code, c in acc.items()},
                    created_at_day=eff - timedelta(days=r.randint(3, 20)),
                )
            )
        holds: list[tuple[int, int | None, str]] = []
        if r.random() < 0.25:
            placed = start_epoch + r.randint(0, max(1, as_of_epoch - start_epoch - 1))
            still_open = r.random() < 0.5
            released = None if still_open else placed + r.randint(3600, 10 * 86400)
            if released is not None and released >= as_of_epoch:
                released = None
            holds.append((placed, released, r.choice(("over_credit_limit", "past_due_balance"))))
        customers.append(
            Customer(
                customer_id=cid,
                name=f"{NAME_A[k % len(NAME_A)]} {r.choice(NAME_B)}",
                currency=currency,
                credit_limit_cents=r.randint(50, 500) * 100000,
                payment_terms=r.choice(("NET30", "NET30", "NET45", "NET60")),
                contract_id=contract_id,
                contract_start=contract_start,
                rate_cards=tuple(cards),
                credit_holds=tuple(holds),
                created_day=contract_start - timedelta(days=r.randint(0, 90)),
                updated_day=max(c.created_at_day or contract_start for c in cards),
                **contract_policy(seed, k),
            )
        )
    return tuple(customers)
