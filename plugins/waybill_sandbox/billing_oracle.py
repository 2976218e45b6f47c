"""The billing oracle: what a correct billing pipeline posts to the ERP for one shipment.

It simulates a pipeline that runs at ``clock`` and then every ``tick_hours`` up to the horizon
(the horizon is always the last tick), seeing at each tick ``T`` exactly what the sandbox exposes at
``T``, and every document it posts is accepted at ``T``. Policy, per shipment:

1. The shipment is **billable** at ``T`` when it is delivered (parcel: its delivered event is
   published, which is when the Track API shows the delivery and POD; LTL: the POD record says so),
   a POD is received and not reversed (a corrected POD counts), no damage exception is published
   (its event's publication time, also for Ridgeline whose 214 file may be released later), the
   customer is not on credit hold at ``T``, no active charge is out of contract (``TMS_DEFAULT_TARIFF``), the order
   is not cancelled, and it has at least one active charge.
2. **First invoice** at the first tick it is billable: the sum of its active charges (latest
   revision) visible at ``T``.
3. After that, at each tick: if it is cancelled, or its POD is reversed with no corrected POD yet,
   a **credit note for the open balance** (net 0); should it become billable again, a new invoice
   for the content then. Else, when the active charges ``(code, amount)`` differ from what the live
   invoice billed: if the new content has a charge out of contract, or the customer is on credit
   hold at ``T``, nothing (held until it clears); else per the
   customer's ``amendment_policy``: ``credit_and_rebill`` = a credit note for the open balance and
   a replacement invoice for (new content - accepted dispute credits so far); ``adjustment`` = an
   adjustment invoice for a positive delta or a credit note for a negative one.
4. A dispute (raised at its plan's time against the live invoice, i.e. the latest invoice accepted
   before then with an open balance > 0; none when there is none) that is resolved ``accepted`` by
   ``T`` yields one credit note for the disputed amount (capped at the shipment's open balance;
   nothing when that is 0); ``rejected`` yields none. Disputes are handled before step 3 at a tick.

Under faults every "visible" above means readable for good (:mod:`waybill_sandbox.visibility`):
the shipment must also match across systems (its ERP order, TMS shipment and a WMS confirmation
copy readable), charges are their latest readable revisions, a Ridgeline POD is its latest
readable publication, a parcel POD needs a readable feed event first, and damage counts from its
first readable publication.

``net_billable_amount`` = sum of invoices - sum of credit notes at the end (0.00 when never billed).
Ticks at which nothing the shipment depends on changed are skipped: they post nothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from waybill_sandbox.visibility import (
    Visibility,
    charge_views,
    event_seen_at,
    first_event_read_at,
    fuel_check,
    pod_valid,
)
from waybill_sandbox.world import customer_on_hold, money

if TYPE_CHECKING:
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.world import Shipment, World

CHARGE_CHANGES = ("late_accessorial", "reweigh", "rate_correction")


def oracle_ticks(world: World, clock: int, tick_hours: float) -> list[int]:
    """The pipeline's run times: ``clock``, every ``tick_hours`` after, and the horizon last."""
    step = max(1, round(tick_hours * 3600))
    ticks = list(range(clock, world.as_of + 1, step))
    if not ticks or ticks[-1] != world.as_of:
        ticks.append(world.as_of)
    return ticks


@dataclass
class _Doc:
    kind: str
    cents: int
    cause: str
    at: int
    credits: list[tuple[int, int]] = field(default_factory=list)

    def open_cents(self, before: int | None = None) -> int:
        return self.cents - sum(c for at, c in self.credits if before is None or at < before)


@dataclass
class OracleResult:
    """What the oracle expects for one shipment."""

    net_cents: int
    documents: list[dict]
    disputes: list[dict]


def _view(
    s: Shipment, t: int, damage_seen: int | None, vis: Visibility
) -> tuple[bool, bool, tuple[tuple[str, int], ...], bool]:
    """(billable, must be credited, active content, content has a charge out of contract) at t,
    as a pipeline sees it through ``vis``."""
    active = [v for v in charge_views(s, vis, t) if v.status == "ACTIVE"]
    content = tuple(sorted((v.charge.charge_code, v.amount_cents) for v in active))
    # Held like a charge out of contract: a FUEL the pipeline cannot check against its LINEHAUL.
    out_of_contract = (
        any(not v.charge.in_contract for v in active) or fuel_check(active) is not None
    )
    # A billed shipment whose POD the pipeline no longer sees valid (reversed, not corrected).
    reversed_open = s.pod_at is not None and s.pod_at <= t and not pod_valid(s, vis, t)
    cancelled = s.is_cancelled(t)
    # LTL: the POD record (and the TMS) say delivered; parcel: the Track API shows the delivery
    # (and its POD) once the delivered event is published.
    delivered = s.carrier.mode == "LTL" or any(
        e.milestone == "delivered" and e.published_at <= t for e in s.events
    )
    damaged = damage_seen is not None and damage_seen <= t
    matched = vis.matched and vis.wms_confirmation_at is not None and vis.wms_confirmation_at <= t
    billable = (
        matched
        and delivered
        and pod_valid(s, vis, t)
        and not damaged
        and not customer_on_hold(s.customer, t)
        and not out_of_contract
        and not cancelled
        and bool(active)
    )
    return billable, cancelled or reversed_open, content, out_of_contract


def _event_times(s: Shipment, damage_seen: int | None, vis: Visibility) -> list[int]:
    times = [e.published_at for e in s.events if e.milestone == "delivered"]
    for t in (damage_seen, vis.wms_confirmation_at, first_event_read_at(s, vis)):
        if t is not None:
            times.append(t)
    times += [c.created_at for c in s.charges] + [r.at for r in s.charge_revisions]
    times += [
        t
        for t in (s.pod_at, s.pod_reversed_at, s.pod_corrected_at, s.cancelled_at)
        if t is not None
    ]
    for placed, released, _ in s.customer.credit_holds:
        times.append(placed)
        if released is not None:
            times.append(released)
    if s.dispute is not None:
        times.append(s.dispute.raise_at)
        if s.dispute.resolve_at is not None:
            times.append(s.dispute.resolve_at)
    return times


def simulate(
    s: Shipment,
    ticks: list[int],
    ridgeline_release: dict[tuple[str, int], int | None] | None = None,
    vis: Visibility | None = None,
) -> OracleResult:
    """Run the policy for shipment ``s`` over ``ticks`` (sorted), seeing what ``vis`` lets a
    pipeline read (default: everything; see :mod:`waybill_sandbox.visibility`).
    ``ridgeline_release``, used when ``vis`` is not given: when each Ridgeline status event can
    be read, (PRO, event seq) → its 214 file's release (None: never, its set was cut off); see
    :func:`ridgeline_event_release`."""
    if vis is None:
        vis = Visibility(ridgeline_release=ridgeline_release)
    damage_seen = event_seen_at(s, vis, "damaged")
    relevant = {ticks[0]}
    for t in _event_times(s, damage_seen, vis) if len(ticks) > 1 else ():
        k = bisect.bisect_left(ticks, t)
        if k < len(ticks):
            relevant.add(ticks[k])
    docs: list[_Doc] = []
    net = 0
    live = False
    ever = False
    billed: tuple[tuple[str, int], ...] = ()
    dispute_credits = 0
    plan = s.dispute
    raised: dict | None = None
    plan_done = False
    credited_dispute = False
    policy = s.customer.amendment_policy

    def post(kind: str, cents: int, cause: str, t: int) -> None:
        nonlocal net
        if kind == "invoice":
            net += cents
            docs.append(_Doc(kind, cents, cause, t))
            return
        net -= cents
        docs.append(_Doc(kind, cents, cause, t))
        left = cents
        for doc in reversed(docs):  # credit the latest open invoices first
            if doc.kind == "invoice" and left > 0:
                take = min(left, doc.open_cents())
                if take > 0:
                    doc.credits.append((t, take))
                    left -= take

    for t in sorted(relevant):
        if plan is not None and not plan_done and plan.raise_at <= t:
            plan_done = True
            raised = _raise(plan, docs)
        if (
            raised is not None
            and not credited_dispute
            and plan is not None
            and plan.resolve_at is not None
            and plan.resolve_at <= t
        ):
            credited_dispute = True
            if plan.outcome == "accepted":
                amount = min(raised["disputed_cents"], net)
                if amount > 0:
                    post("credit_note", amount, f"dispute_{plan.reason}", t)
                    dispute_credits += amount
        billable, must_credit, content, out_of_contract = _view(s, t, damage_seen, vis)
        if not live:
            if billable:
                post("invoice", sum(c for _, c in content), "rebill" if ever else "first", t)
                live, ever, billed = True, True, content
        elif must_credit:
            if net > 0:
                post("credit_note", net, "cancellation" if s.is_cancelled(t) else "pod_reversal", t)
            live = False
        elif content != billed and not out_of_contract and not customer_on_hold(s.customer, t):
            # Held while the customer is on credit hold, like a first invoice; posted once it lifts.
            cause = (
                s.change_kind
                if s.change_kind in CHARGE_CHANGES and s.change_at is not None and s.change_at <= t
                else "late_charge"
            )
            if policy == "credit_and_rebill":
                if net > 0:
                    post("credit_note", net, f"amend_{cause}", t)
                amount = sum(c for _, c in content) - dispute_credits
                if amount > 0:
                    post("invoice", amount, f"amend_{cause}", t)
            else:
                delta = sum(c for _, c in content) - sum(c for _, c in billed)
                if delta > 0:
                    post("invoice", delta, f"adjust_{cause}", t)
                elif delta < 0 and min(-delta, net) > 0:
                    post("credit_note", min(-delta, net), f"adjust_{cause}", t)
            billed = content
    return OracleResult(
        net,
        [{"kind": d.kind, "amount": money(d.cents), "cause": d.cause, "at": d.at} for d in docs],
        [raised] if raised is not None else [],
    )


def _raise(plan, docs: list[_Doc]) -> dict | None:
    """The dispute a plan raises against the live invoice at its raise time, if any."""
    live = None
    for doc in docs:
        if doc.kind == "invoice" and doc.at < plan.raise_at and doc.open_cents(plan.raise_at) > 0:
            live = doc  # docs are in acceptance order: the last one wins
    if live is None:
        return None
    amount = min((live.cents * plan.pct + 50) // 100, live.open_cents(plan.raise_at))
    return {"disputed_cents": amount} if amount > 0 else None


def ridgeline_event_release(
    world: World, faults: FaultConfig | None = None
) -> dict[tuple[str, int], int | None]:
    """(PRO, event seq) → when its 214 file is released (the latest publication it carries), or
    None when its set was lost in a file cut short (truncation faults): a pipeline reads the
    complete sets before the cut, never the rest. One streamed pass over the world's files."""
    from waybill_sandbox.x12 import iter_x12_files

    release: dict[tuple[str, int], int | None] = {}
    for f in iter_x12_files(world, faults):
        if f.kind != "214":
            continue
        for k, key in enumerate(f.events):
            if k >= f.complete_sets:
                release.setdefault(key, None)
            elif release.get(key) is None or f.created_at < release[key]:  # type: ignore[operator]
                release[key] = f.created_at
    return release
