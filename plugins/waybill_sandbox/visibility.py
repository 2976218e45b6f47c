"""What a pipeline can ever know of one shipment when record- and file-level faults are on.

A malformed record (``FaultConfig.record_malformed``) is malformed on every read, and a
transaction set cut off a truncated X12 file never arrives: both are gone for good (a reader
dead-letters them and retrying changes nothing). Request faults (429, 5xx, slow) hide nothing:
a client that retries gets through. The truth's billing oracle and CRM expectations look at a
shipment through :class:`Visibility`, so they predict what Waybill can know — no more:

* the ERP order, the TMS shipment or every WMS confirmation copy unreadable → the shipment never
  matches across systems (no invoice; without the ERP order no customer, so no CRM status);
* a ParcelCo (UPS) event names no order: without a readable TMS shipment none of its events
  reaches the shipment (SwiftEx, TrackLane and Ridgeline events carry the order reference);
* a carrier that also pushes webhooks (``pushed``) loses no event to a bad feed copy;
* a rated charge is its latest *readable* revision (a charge whose revisions are all unreadable
  does not exist for the pipeline);
* a Ridgeline POD's state is its latest readable publication (an unreadable reversal leaves
  the POD valid; an unreadable POD leaves none);
* a parcel's POD shows in the Track API, which a pipeline asks only about tracking numbers its
  event feed named: one readable feed event must be published first;
* an exception or delivery event counts from its first readable publication (Ridgeline: the
  release of a 214 file that still carries its set);
* a FUEL charge is checked against the LINEHAUL it surcharges: without a readable active
  LINEHAUL it is off the rate card (``charge_out_of_contract``), and read at another revision than
  the LINEHAUL it is off the contract rate (``charge_not_at_contract_rate``): both hold billing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from waybill_sandbox.carrier_json import pod_record_key
from waybill_sandbox.lifecycle import pod_publications
from waybill_sandbox.world import ChargeView, money

if TYPE_CHECKING:
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.world import Shipment, World

NEVER = None


@dataclass(frozen=True)
class Visibility:
    """The records of one shipment a pipeline can never read, and when its systems match."""

    erp_order: bool = True
    tms_shipment: bool = True
    wms_confirmation_at: int | None = 0  # first readable confirmation copy; None: none ever
    hidden_charges: frozenset[tuple[int, int]] = frozenset()  # (charge index, revision)
    hidden_pods: frozenset[int] = frozenset()  # Ridgeline POD publication subs
    hidden_events: frozenset[int] = frozenset()  # parcel feed event indexes (s.events)
    ridgeline_release: dict[tuple[str, int], int | None] | None = None

    @property
    def matched(self) -> bool:
        """True when the ERP order, the WMS confirmation and the TMS shipment are all readable."""
        return self.erp_order and self.tms_shipment and self.wms_confirmation_at is not None


CLEAR = Visibility()


def visibility_of(
    s: Shipment,
    world: World,
    faults: FaultConfig | None,
    ridgeline_release: dict[tuple[str, int], int | None] | None = None,
    pushed: frozenset[str] = frozenset(),
) -> Visibility:
    """What faults hide of ``s`` for good (``ridgeline_release``: see
    :func:`waybill_sandbox.billing_oracle.ridgeline_event_release`). A carrier in ``pushed``
    also delivers its events as signed webhooks (clean payloads, at publication), so none of
    its events is hidden: the pipeline reads them from the push when the feed's copy is bad."""
    if faults is None or not faults.enabled:
        return Visibility(ridgeline_release=ridgeline_release)

    def bad(system: str, key: str) -> bool:
        return faults.record_malformed(world.seed, system, key)

    copies = [(s.shipped_at, 0)] + ([(s.wms_resent_at, 1)] if s.wms_resent_at is not None else [])
    readable = [
        at
        for at, sub in copies
        if not bad("wms", f"shipment-confirmations/{s.wms_shipment_id}/{sub}")
    ]
    charges = {
        (k, 1)
        for k, c in enumerate(s.charges)
        if bad("tms", f"rated-charges/{s.tms_shipment_id}-{c.charge_number:02d}")
    }
    charges |= {
        (r.charge_index, r.revision)
        for r in s.charge_revisions
        if bad(
            "tms",
            f"rated-charges/{s.tms_shipment_id}-{s.charges[r.charge_index].charge_number:02d}"
            f"/{r.revision}",
        )
    }
    code = s.carrier.carrier_code
    events: frozenset[int] = frozenset()
    pods: frozenset[int] = frozenset()
    tms_readable = not bad("tms", f"shipments/{s.tms_shipment_id}")
    if code == "parcelco" and not tms_readable:
        # UPS events name no order: they reach a shipment only through the tracking number of
        # its TMS shipment, so without one none of them is ever the shipment's.
        events = frozenset(range(len(s.events)))
    elif code in ("parcelco", "swiftex"):
        if code not in pushed:
            events = frozenset(
                k
                for k in range(len(s.events))
                if bad("carriers", f"{code}/events/{s.tracking_number}/{k}")
            )
    else:
        pods = frozenset(
            sub
            for _, sub in pod_publications(s)
            if bad("carriers", pod_record_key(s.tracking_number, sub))
        )
    return Visibility(
        erp_order=not bad("erp", f"orders/{s.order_number}"),
        tms_shipment=tms_readable,
        wms_confirmation_at=min(readable) if readable else None,
        hidden_charges=frozenset(charges),
        hidden_pods=pods,
        hidden_events=events,
        ridgeline_release=ridgeline_release,
    )


def charge_views(s: Shipment, vis: Visibility, at: int) -> list[ChargeView]:
    """The rated charges a pipeline has read by ``at``: each at its latest readable revision."""
    if not vis.hidden_charges:
        return s.charge_views(at)
    versions: dict[int, ChargeView] = {}
    for k, c in enumerate(s.charges):
        if c.created_at <= at and (k, 1) not in vis.hidden_charges:
            versions[k] = ChargeView(k, c, 1, c.quantity, c.amount_cents, "ACTIVE", c.created_at)
    for r in s.charge_revisions:
        if r.at > at or (r.charge_index, r.revision) in vis.hidden_charges:
            continue
        seen = versions.get(r.charge_index)
        if seen is None or r.revision > seen.revision:
            c = s.charges[r.charge_index]
            versions[r.charge_index] = ChargeView(
                r.charge_index, c, r.revision, r.quantity, r.amount_cents, r.status, r.at
            )
    return [versions[k] for k in sorted(versions)]


def first_event_read_at(s: Shipment, vis: Visibility) -> int | None:
    """Parcel: when the first readable feed event is published (the pipeline then asks the
    Track API about the number); None when every event is unreadable."""
    times = [e.published_at for k, e in enumerate(s.events) if k not in vis.hidden_events]
    return min(times) if times else None


def pod_valid(s: Shipment, vis: Visibility, at: int) -> bool:
    """True when a pipeline sees a valid POD of ``s`` at ``at``."""
    if s.carrier.mode == "LTL":
        latest = None
        for published, sub in pod_publications(s):
            if published <= at and sub not in vis.hidden_pods:
                latest = sub
        return latest is not None and latest != 1
    if not s.pod_valid(at):
        return False
    asked = first_event_read_at(s, vis) if vis.hidden_events else 0
    return asked is not None and asked <= at


def event_seen_at(s: Shipment, vis: Visibility, milestone: str) -> int | None:
    """When a pipeline first reads a ``milestone`` event of ``s`` (its first readable
    publication; Ridgeline: the release of a 214 file that carries it whole); None: never."""
    times = []
    ridgeline = s.carrier.carrier_code == "ridgeline"
    for k, e in enumerate(s.events):
        if e.milestone != milestone:
            continue
        if ridgeline:
            released = (vis.ridgeline_release or {}).get((s.tracking_number, e.seq))
            if released is not None:
                times.append(released)
        elif k not in vis.hidden_events:
            times.append(e.published_at)
    return min(times) if times else None


def fuel_check(active: list[ChargeView]) -> str | None:
    """How a pipeline that checks charges against the contract sees the FUEL among ``active``
    charges: ``"charge_out_of_contract"`` when no active LINEHAUL is read to rate it from,
    ``"charge_not_at_contract_rate"`` when it surcharges another LINEHAUL amount than the one read
    (a re-rating read for one and not the other), None when it checks out or there is none."""
    by_code = {v.charge.charge_code: v for v in active}
    fuel, linehaul = by_code.get("FUEL"), by_code.get("LINEHAUL")
    if fuel is None:
        return None
    if linehaul is None:
        return "charge_out_of_contract"
    if fuel.quantity != money(linehaul.amount_cents):
        return "charge_not_at_contract_rate"
    return None
