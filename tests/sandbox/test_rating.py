"""Rated charges follow the README formulas from the rate card in force on the ship date (SCD2)."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from waybill_sandbox.records import erp_rate_card, tms_charge, tms_shipment
from waybill_sandbox.world import World

CENT = Decimal("0.01")


def _cards(world: World) -> dict[str, list[dict]]:
    cards: dict[str, list[dict]] = {}
    for customer in world.customers:
        cards[customer.customer_id] = [erp_rate_card(c) for c in customer.rate_cards]
    return cards


def test_rate_card_versions_do_not_overlap_and_change_inside_the_window():
    world = World(8, 400, days=90)
    changed = 0
    for versions in _cards(world).values():
        for older, newer in itertools.pairwise(versions):
            assert date.fromisoformat(older["effective_to"]) < date.fromisoformat(
                newer["effective_from"]
            )
            changed += 1
        assert versions[-1]["effective_to"] is None
    assert changed > 0


def test_tms_sell_amounts_recompute_from_the_rate_card_in_force():
    world = World(8, 400, days=90)
    cards = _cards(world)
    for s in world.iter_shipments():
        ship = tms_shipment(s)
        ship_date = date.fromisoformat(ship["ship_date"])
        card = max(
            (
                c
                for c in cards[s.customer.customer_id]
                if date.fromisoformat(c["effective_from"]) <= ship_date
            ),
            key=lambda c: c["effective_from"],
        )
        rates = card["rates"]["ltl" if ship["mode"] == "LTL" else "parcel"]
        charges = {c["charge_code"]: c for c in (tms_charge(s, k) for k in range(len(s.charges)))}
        linehaul = (
            Decimal(rates["base"]) + Decimal(rates["per_kg"]) * Decimal(ship["weight_kg"])
        ).quantize(CENT, ROUND_HALF_UP)
        fuel = (linehaul * Decimal(card["rates"]["fuel_surcharge_pct"]) / 100).quantize(
            CENT, ROUND_HALF_UP
        )
        assert Decimal(charges["LINEHAUL"]["amount"]) == linehaul, s.order_number
        assert Decimal(charges["FUEL"]["amount"]) == fuel, s.order_number
        for code, charge in charges.items():
            if code in ("LINEHAUL", "FUEL"):
                continue
            contract = card["rates"]["accessorials"].get(code)
            assert (charge["rate_source"] == "CONTRACT") == (contract is not None)
            if contract is not None:
                assert Decimal(charge["amount"]) == Decimal(contract) * Decimal(charge["quantity"])
