"""What the CRM side of the world expects, from the generator alone (never from the APIs).

* :func:`customer_status` — the status a customer should see for a shipment at a time:
  ``processing`` (not shipped), ``in_transit``, ``delivered``, ``lost``.
* :func:`case_exceptions` — the exceptions that deserve a customer-service case at a time:
  ``delay`` (delivered after the promise, or not delivered and the promise passed),
  ``damage``, ``loss``, ``missing_pod`` (delivered at least ``missing_pod_hours`` ago with no
  valid POD), ``billing_hold`` (credit hold, charge out of contract, cancelled), ``dispute``
  (a raised dispute not yet resolved).
* :func:`contacts_of` — the customers' "where is my order?" contacts of one shipment.

The truth lists, per shipment, the union of :func:`case_exceptions` over the runs it expects a
sync at (one case per exception, ever) and the status at the horizon. Both look at the shipment
through a :class:`~waybill_sandbox.visibility.Visibility`: with faults on, what a pipeline can
never read does not count. A shipment whose ERP order is unreadable has no customer, so the CRM
holds no status of it (:func:`known_to_crm`), but its cases still open (a case needs no
customer): with no order there is no promise (no delay), no order status (no cancellation), no
credit hold to read, and every charge is out of contract (no contract to check it against).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from waybill_sandbox.rng import rng_for
from waybill_sandbox.visibility import (
    CLEAR,
    Visibility,
    charge_views,
    event_seen_at,
    fuel_check,
    pod_valid,
)
from waybill_sandbox.world import customer_on_hold

if TYPE_CHECKING:
    from waybill_sandbox.world import Shipment

EXCEPTIONS = ("delay", "damage", "loss", "missing_pod", "billing_hold", "dispute")
STATUSES = ("processing", "in_transit", "delivered", "lost")
BILLING_HOLDS = ("credit_hold", "charge_out_of_contract", "cancelled")
DEFAULT_MISSING_POD_HOURS = 48
CONTACT_CHANNELS = ("phone", "email", "chat")


def reported(s: Shipment, exception: str, at: int, vis: Visibility = CLEAR) -> bool:
    """True when a pipeline has read the carrier's ``damaged``/``lost`` event of ``s`` by ``at``
    (its publication; a Ridgeline 214 set: its file's release)."""
    seen = event_seen_at(s, vis, exception)
    return seen is not None and seen <= at


def known_to_crm(vis: Visibility) -> bool:
    """True when Waybill can tell the CRM about the shipment at all: the CRM needs the
    customer, which only the ERP order names."""
    return vis.erp_order


def delivered_seen(s: Shipment, at: int, vis: Visibility = CLEAR) -> bool:
    """True when a pipeline knows by ``at`` that ``s`` was delivered: the TMS shows it from the
    true delivery time; without a readable TMS shipment, the carrier's delivered event."""
    if s.delivered_at is None or s.delivered_at > at:
        return False
    if vis.tms_shipment:
        return True
    seen = event_seen_at(s, vis, "delivered")
    return seen is not None and seen <= at


def customer_status(s: Shipment, at: int, vis: Visibility = CLEAR) -> str:
    """The customer-visible status of ``s`` at ``at`` (epoch seconds): delivered by its true
    delivery time (the TMS shows it then), lost once the carrier reported it, in transit once
    the WMS confirmation that says it shipped is read."""
    if delivered_seen(s, at, vis):
        return "delivered"
    if reported(s, "lost", at, vis):
        return "lost"
    if s.shipped_at <= at and vis.wms_confirmation_at is not None and vis.wms_confirmation_at <= at:
        return "in_transit"
    return "processing"


def visible_hold_reasons(s: Shipment, at: int, vis: Visibility = CLEAR) -> list[str]:
    """:meth:`Shipment.hold_reasons` as a pipeline sees them at ``at`` (``missing_pod`` and the
    :data:`BILLING_HOLDS`; only for a shipment delivered by then). Without a readable ERP order
    the customer, its contract and the order's status are unknown (see the module's doc)."""
    reasons = []
    if not pod_valid(s, vis, at):
        reasons.append("missing_pod")
    if vis.erp_order and customer_on_hold(s.customer, at):
        reasons.append("credit_hold")
    # Charges reach a shipment through its TMS shipment: unreadable, it has none.
    charges = charge_views(s, vis, at) if vis.tms_shipment else []
    active = [v for v in charges if v.status == "ACTIVE"]
    if (active and not vis.erp_order) or (
        any(not v.charge.in_contract for v in active)
        or fuel_check(active) == "charge_out_of_contract"
    ):
        reasons.append("charge_out_of_contract")
    if vis.erp_order and s.is_cancelled(at):
        reasons.append("cancelled")
    return reasons


def case_exceptions(
    s: Shipment,
    at: int,
    *,
    missing_pod_hours: float = DEFAULT_MISSING_POD_HOURS,
    dispute_open: bool = False,
    vis: Visibility = CLEAR,
) -> list[str]:
    """The exceptions of ``s`` that deserve a case at ``at``, in :data:`EXCEPTIONS` order.

    ``dispute_open``: whether a dispute of the shipment is raised and unresolved at ``at`` (the
    ERP decides that from its documents; the caller knows it).
    """
    found = []
    delivered_at = s.delivered_at if delivered_seen(s, at, vis) else None
    delivered = delivered_at is not None
    lost = reported(s, "lost", at, vis)
    # The promise is the ERP order's requested delivery date: unreadable, there is none.
    if vis.erp_order and (
        (delivered_at is not None and delivered_at > s.promised_delivery_at)
        or (not delivered and not lost and s.promised_delivery_at < at)
    ):
        found.append("delay")
    if reported(s, "damaged", at, vis):
        found.append("damage")
    if lost:
        found.append("loss")
    if delivered_at is not None:
        reasons = visible_hold_reasons(s, at, vis)
        if "missing_pod" in reasons and delivered_at <= at - missing_pod_hours * 3600:
            found.append("missing_pod")
        if any(reason in BILLING_HOLDS for reason in reasons):
            found.append("billing_hold")
    if dispute_open:
        found.append("dispute")
    return found


def contacts_of(seed: int, s: Shipment) -> list[dict]:
    """The customer's "where is my order?" contacts about ``s`` (0 or 1), deterministic.

    A delayed or lost shipment draws a contact with probability 0.6, 2..48 h after its promise;
    a damaged one with 0.5, 2..24 h after delivery; any other shipment with 0.03, somewhere
    between its ship time and its promise. Each: ``contact_id, order_number, customer_id,
    channel, reason, contacted_at`` (epoch).
    """
    rng = rng_for(seed, "crm_contact", s.index)
    roll = rng.random()
    lost = "lost" in s.exceptions
    late = lost or s.delivered_at is None or s.delivered_at > s.promised_delivery_at
    if late and roll < 0.6:
        at = s.promised_delivery_at + rng.randint(2 * 3600, 48 * 3600)
        reason = "where_is_my_order"
    elif "damaged" in s.exceptions and s.delivered_at is not None and roll < 0.5:
        at = s.delivered_at + rng.randint(2 * 3600, 24 * 3600)
        reason = "damaged_goods"
    elif roll < 0.03:
        at = s.shipped_at + int(rng.random() * max(3600, s.promised_delivery_at - s.shipped_at))
        reason = "where_is_my_order"
    else:
        return []
    return [
        {
            "contact_id": f"CT-{s.order_number}-1",
            "order_number": s.order_number,
            "customer_id": s.customer.customer_id,
            "channel": CONTACT_CHANNELS[rng.randrange(len(CONTACT_CHANNELS))],
            "reason": reason,
            "contacted_at": at,
        }
    ]
