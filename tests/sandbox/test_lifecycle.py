"""Post-delivery changes: off by default, deterministic, leaving the rest of the world untouched,
and served over HTTP as re-published records."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS
from waybill_sandbox.lifecycle import CHANGE_KINDS, first_billable_at
from waybill_sandbox.records import charge_id
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.timefmt import parse_iso
from waybill_sandbox.world import World, money

SEED, SHIPMENTS, CHANGES = 3, 240, 0.5
HOUR = 3600


@pytest.fixture(scope="module")
def changed() -> World:
    return World(SEED, SHIPMENTS, changes=CHANGES)


def test_changes_are_off_by_default_and_leave_the_rest_of_the_world_as_it_was(changed):
    plain = World(SEED, SHIPMENTS)
    kinds = Counter()
    for base, s in zip(plain.iter_shipments(), changed.iter_shipments(), strict=True):
        assert (base.change_kind, base.dispute, base.charge_revisions) == (None, None, [])
        assert (s.events, s.pod_at, s.delivered_at, s.carrier_invoices) == (
            base.events,
            base.pod_at,
            base.delivered_at,
            base.carrier_invoices,
        )
        assert s.charges[: len(base.charges)] == base.charges
        kinds[s.change_kind] += 1
    assert set(kinds) == {None, *CHANGE_KINDS}


def test_changes_are_deterministic_and_timed_after_first_billable(changed):
    again = World(SEED, SHIPMENTS, changes=CHANGES)
    other = World(SEED + 1, SHIPMENTS, changes=CHANGES)
    plans = [(s.change_kind, s.change_at, s.dispute) for s in changed.iter_shipments()]
    assert plans == [(s.change_kind, s.change_at, s.dispute) for s in again.iter_shipments()]
    assert plans != [(s.change_kind, s.change_at, s.dispute) for s in other.iter_shipments()]
    eligible = changed_count = 0
    plain = World(SEED, SHIPMENTS)
    for s, unchanged in zip(changed.iter_shipments(), plain.iter_shipments(), strict=True):
        base = first_billable_at(unchanged)
        assert s.first_billable_at == base
        if s.change_at is not None:
            changed_count += 1
            assert base is not None and 30 * HOUR <= s.change_at - base <= 96 * HOUR
            assert s.change_at <= changed.as_of
        if s.dispute is not None:
            assert base is not None and 48 * HOUR <= s.dispute.raise_at - base <= 120 * HOUR
        eligible += base is not None and base + 96 * HOUR <= changed.as_of
    # About CHANGES of the shipments that can still change by the horizon do.
    assert 0.3 * eligible <= changed_count <= 0.7 * eligible + 10


def _first(world: World, kind: str, carrier: str | None = None):
    for s in world.iter_shipments():
        if s.change_kind == kind and (carrier is None or s.carrier.carrier_code == carrier):
            return s
    raise AssertionError(f"no {kind} shipment")


def test_changes_are_served_as_republished_records(changed):
    with running_sandbox(seed=SEED, shipments=SHIPMENTS, changes=CHANGES) as base:
        charges = []
        offset = 0
        while True:
            body = httpx.get(
                f"{base}/tms/rated-charges", params={"offset": offset, "limit": 500}
            ).json()
            charges += body["results"]
            offset += 500
            if offset >= body["total"]:
                break
        by_id: dict[str, list[dict]] = {}
        for c in charges:
            by_id.setdefault(c["charge_id"], []).append(c)

        reweigh = _first(changed, "reweigh")
        lh = by_id[charge_id(reweigh, 1)]
        fuel = by_id[charge_id(reweigh, 2)]
        assert [c["revision"] for c in lh] == [1, 2] and [c["revision"] for c in fuel] == [1, 2]
        assert lh[1]["quantity"] != lh[0]["quantity"] and fuel[1]["quantity"] == lh[1]["amount"]
        assert parse_iso(lh[1]["updated_at"] + "-05:00") // 60 == reweigh.change_at // 60 or (
            parse_iso(lh[1]["updated_at"] + "-04:00") // 60 == reweigh.change_at // 60
        )

        # A rate correction goes back to the contract: an accessorial charged in error is
        # voided, else the linehaul is re-rated on a billable weight 2..8 % lower.
        corrected = _first(changed, "rate_correction")
        wrong = [c for c in corrected.charges if c.charge_code in ("RESIDENTIAL", "LIFTGATE")]
        if wrong:
            voided = by_id[charge_id(corrected, wrong[0].charge_number)]
            assert [(c["status"], c["amount"], c["revision"]) for c in voided][-1] == (
                "VOIDED",
                "0.00",
                2,
            )
        else:
            lh = by_id[charge_id(corrected, 1)]
            cut = round(100 * (1 - float(lh[1]["quantity"]) / float(lh[0]["quantity"])))
            assert 2 <= cut <= 8 and float(lh[1]["amount"]) < float(lh[0]["amount"])
            assert lh[1]["rate_source"] == "CONTRACT"

        late = _first(changed, "late_accessorial")
        added = by_id[charge_id(late, len(late.charges))]
        assert added[0]["charge_code"] in ("LIFTGATE", "DETENTION")
        assert added[0]["rate_source"] == "CONTRACT"

        cancelled = _first(changed, "cancellation")
        voided = [by_id[charge_id(cancelled, c.charge_number)][-1] for c in cancelled.charges]
        assert {(c["status"], c["amount"], c["revision"]) for c in voided} == {
            ("VOIDED", "0.00", 2)
        }
        orders = httpx.get(
            f"{base}/erp/orders", params={"limit": 1000}, headers=ERP_HEADERS
        ).json()["data"]
        status = {o["order_number"]: o["status"] for o in orders}
        assert status[cancelled.order_number] == "CANCELLED"
        assert Counter(status.values())["CANCELLED"] == sum(
            s.change_kind == "cancellation" for s in changed.iter_shipments()
        )


def test_pod_reversals_show_in_pods_and_track_apis_until_corrected():
    # LTL PODs arrive up to 72 h after delivery: a longer window sees their reversals.
    changed = World(SEED, 800, changes=0.8)
    reversals = [s for s in changed.iter_shipments() if s.change_kind == "pod_reversal"]
    ridgeline = [s for s in reversals if s.carrier.carrier_code == "ridgeline"]
    parcel = [s for s in reversals if s.carrier.carrier_code == "parcelco"]
    swiftex = [s for s in reversals if s.carrier.carrier_code == "swiftex"]
    assert ridgeline and parcel and swiftex
    assert {s.pod_corrected_at is None for s in reversals} == {True, False}
    with running_sandbox(seed=SEED, shipments=800, changes=0.8) as base:
        pods, token = [], None
        while True:
            params = {"limit": 500, **({"page_token": token} if token else {})}
            body = httpx.get(f"{base}/carriers/ridgeline/pods", params=params).json()
            pods += body["pods"]
            token = body.get("nextPageToken")
            if not token:
                break
        for s in ridgeline:
            mine = [p for p in pods if p["pro_number"] == s.tracking_number]
            expected = ["RECEIVED", "REVERSED"] + (["RECEIVED"] if s.pod_corrected_at else [])
            assert [p["status"] for p in mine] == expected
            assert mine[1]["received_at"] == mine[0]["received_at"]
            assert parse_iso(mine[1]["updated_at"]) == s.pod_reversed_at
        for s in parcel:
            package = httpx.get(
                f"{base}/carriers/parcelco/track/v1/details/{s.tracking_number}"
            ).json()["trackResponse"]["shipment"][0]["package"][0]
            assert ("deliveryInformation" in package) == (s.pod_corrected_at is not None)
            assert package["deliveryDate"][0]["type"] == "DEL"
        body = {
            "includeDetailedScans": True,
            "trackingInfo": [
                {"trackingNumberInfo": {"trackingNumber": s.tracking_number}} for s in swiftex[:30]
            ],
        }
        results = httpx.post(f"{base}/carriers/swiftex/track/v1/trackingnumbers", json=body).json()
        for s, entry in zip(swiftex, results["output"]["completeTrackResults"], strict=False):
            result = entry["trackResults"][0]
            assert ("deliveryDetails" in result) == (s.pod_corrected_at is not None)
            assert any(d["type"] == "ACTUAL_DELIVERY" for d in result["dateAndTimes"])


def test_contracts_carry_amendment_policy_and_approval_limit(changed):
    with running_sandbox(seed=SEED, shipments=30) as base:
        contracts = httpx.get(f"{base}/erp/contracts", headers=ERP_HEADERS).json()["data"]
    policies = Counter(c["amendment_policy"] for c in contracts)
    assert set(policies) == {"credit_and_rebill", "adjustment"}
    assert policies["credit_and_rebill"] > policies["adjustment"]
    limits = [c["approval_limit"] for c in contracts if c["approval_limit"] is not None]
    assert 0 < len(limits) < len(contracts)
    assert all(500 <= float(x) <= 3000 and money(round(float(x) * 100)) == x for x in limits)
