"""Post-delivery changes and dispute plans: what happens to a shipment after it could be billed.

Only with ``World(changes=RATE)`` > 0. Every draw comes from ``rng_for(seed, "lifecycle", i)``, a
stream no other part of the world uses, so worlds with ``changes=0`` are byte-identical to before.

A delivered shipment with a POD has a ``first_billable_at`` (the latest of: its delivered event
published, its POD received, its last rated charge created). A share RATE of them get ONE change at
``first_billable_at + 30..96 h`` (none when that is after the horizon), uniformly one of
``late_accessorial``, ``reweigh``, ``rate_correction``, ``pod_reversal``, ``cancellation``;
a share RATE/2 get a dispute plan raised at ``first_billable_at + 48..120 h`` and resolved
24..96 h later (``accepted`` 60 %, else ``rejected``). Whether a plan becomes a dispute depends on
the ERP's live invoice at the raise time, so the app (state.py) and the oracle decide that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waybill_sandbox.rng import rng_for

if TYPE_CHECKING:
    from waybill_sandbox.world import Shipment, World

HOUR = 3600
CHANGE_KINDS = ("late_accessorial", "reweigh", "rate_correction", "pod_reversal", "cancellation")
DISPUTE_REASONS = ("rate_dispute", "service_failure", "damaged_goods", "duplicate_billing")
DISPUTE_ACCEPT_SHARE = 0.6
# The subs above this in a rated-charges key are revisions (index into charge_revisions).
REVISION_SUB = 64


def first_billable_at(s: Shipment) -> int | None:
    """The latest of: delivered event published, POD received, last charge created (None when the
    shipment is not delivered or has no POD)."""
    if s.delivered_at is None or s.pod_at is None:
        return None
    published = [e.published_at for e in s.events if e.milestone == "delivered"]
    if not published:
        return None
    return max(min(published), s.pod_at, max(c.created_at for c in s.charges))


def apply_lifecycle(s: Shipment, world: World) -> None:
    """Draw and apply shipment ``s``'s change and dispute plan (mutates ``s``)."""
    from waybill_sandbox.world import ChargeRevision, DisputePlan

    r = rng_for(world.seed, "lifecycle", s.index)
    # A fixed sequence of draws, whatever branch is taken, keeps every shipment's plan stable.
    u_change, kind_ix, change_h = r.random(), r.randrange(len(CHANGE_KINDS)), r.randint(30, 96)
    sign, pct = r.choice((-1, 1)), r.randint(5, 20)
    correction_pct, corrected, correct_h = r.randint(2, 8), r.random() < 0.5, r.randint(24, 72)
    hours = r.randint(1, 4)
    u_dispute, raise_h, resolve_h = r.random(), r.randint(48, 120), r.randint(24, 96)
    accepted, reason, dispute_pct = (
        r.random() < DISPUTE_ACCEPT_SHARE,
        DISPUTE_REASONS[r.randrange(len(DISPUTE_REASONS))],
        r.randint(5, 30),
    )
    base_at = first_billable_at(s)
    if base_at is None:
        return
    s.first_billable_at = base_at
    as_of = world.as_of
    if u_dispute < world.changes / 2 and base_at + raise_h * HOUR <= as_of:
        raise_at = base_at + raise_h * HOUR
        resolve_at = raise_at + resolve_h * HOUR
        s.dispute = DisputePlan(
            raise_at,
            resolve_at if resolve_at <= as_of else None,
            "accepted" if accepted else "rejected",
            reason,
            dispute_pct,
        )
    at = base_at + change_h * HOUR
    if u_change >= world.changes or at > as_of:
        return
    kind = CHANGE_KINDS[kind_ix]
    s.change_kind, s.change_at = kind, at
    if kind == "late_accessorial":
        _late_accessorial(s, at, hours)
    elif kind == "reweigh":
        _rerate_linehaul(s, at, 100 + sign * pct)
    elif kind == "rate_correction":
        # Billing corrects what was rated wrong, always back to the contract: an accessorial
        # charged in error is voided; with none, the linehaul is re-rated on the corrected
        # (lower) billable weight, fuel with it.
        wrong = [k for k, c in enumerate(s.charges) if c.charge_code in ("RESIDENTIAL", "LIFTGATE")]
        if wrong:
            c = s.charges[wrong[0]]
            s.charge_revisions.append(ChargeRevision(wrong[0], 2, at, c.quantity, 0, "VOIDED"))
        else:
            _rerate_linehaul(s, at, 100 - correction_pct)
    elif kind == "pod_reversal":
        s.pod_reversed_at = at
        if corrected and at + correct_h * HOUR <= as_of:
            s.pod_corrected_at = at + correct_h * HOUR
    else:  # cancellation
        s.cancelled_at = at
        for k, c in enumerate(s.charges):
            s.charge_revisions.append(ChargeRevision(k, 2, at, c.quantity, 0, "VOIDED"))


def _rerate_linehaul(s: Shipment, at: int, weight_pct: int) -> None:
    """Revision 2 of LINEHAUL and FUEL at the contract rates for ``weight_pct`` % of the weight."""
    from waybill_sandbox.world import ChargeRevision, money, self_kg

    weight = max(1, _round_div(s.weight_dg * weight_pct, 100))
    base, per_kg = _linehaul_rates(s)
    linehaul = base + _round_div(per_kg * weight, 10)
    fuel = _round_div(linehaul * s.rate_card.fuel_bp, 10000)
    s.charge_revisions.append(ChargeRevision(0, 2, at, self_kg(weight), linehaul, "ACTIVE"))
    s.charge_revisions.append(ChargeRevision(1, 2, at, money(linehaul), fuel, "ACTIVE"))


def _round_div(numerator: int, denominator: int) -> int:
    return (numerator + denominator // 2) // denominator


def _linehaul_rates(s: Shipment) -> tuple[int, int]:
    card = s.rate_card
    if s.carrier.mode == "LTL":
        return card.ltl_base_cents, card.ltl_per_kg_cents
    return card.parcel_base_cents, card.parcel_per_kg_cents


def _late_accessorial(s: Shipment, at: int, hours: int) -> None:
    """A new in-contract LIFTGATE (or DETENTION when it already has one) at the contract rate."""
    from waybill_sandbox.reference import ACCESSORIAL_COST_CENTS, DETENTION_COST_CENTS_PER_HOUR
    from waybill_sandbox.world import Charge

    card = s.rate_card
    if not any(c.charge_code == "LIFTGATE" for c in s.charges):
        code, qty, unit = "LIFTGATE", 1, "EA"
        sell, cost = card.accessorials["LIFTGATE"], ACCESSORIAL_COST_CENTS["LIFTGATE"]
    else:
        code, qty, unit = "DETENTION", hours, "HOUR"
        sell = card.accessorials["DETENTION"] * hours
        cost = DETENTION_COST_CENTS_PER_HOUR * hours
    s.charges.append(
        Charge(len(s.charges) + 1, code, str(qty), unit, sell, cost, at, True, card.rate_card_id)
    )


def pod_publications(s: Shipment) -> list[tuple[int, int]]:
    """(published epoch, sub) of the shipment's Ridgeline POD records: 0 the POD, 1 its reversal,
    2 the corrected POD."""
    if s.pod_at is None:
        return []
    out = [(s.pod_at, 0)]
    if s.pod_reversed_at is not None:
        out.append((s.pod_reversed_at, 1))
        if s.pod_corrected_at is not None:
            out.append((s.pod_corrected_at, 2))
    return out


def order_versions(s: Shipment, as_of: int) -> list[tuple[int, int]]:
    """(updated_at epoch, sub) of the ERP order's versions: 0 released, 1 shipped, 2 cancelled."""
    out = [(s.released_at, 0)]
    if s.erp_updated_at <= as_of:
        out.append((s.erp_updated_at, 1))
    if s.cancelled_at is not None:
        out.append((s.cancelled_at, 2))
    return out
