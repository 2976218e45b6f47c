"""The billing oracle behind the truth's ``net_billable_amount`` and ``expected_documents``."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from tests.sandbox.helpers import truth_of
from waybill_sandbox.billing_oracle import oracle_ticks
from waybill_sandbox.world import World

SEED, SHIPMENTS = 21, 400


def _cents(text: str) -> int:
    return round(float(text) * 100)


def test_without_changes_and_one_run_at_the_end_net_is_the_billable_amount(truth):
    assert truth["shipments"]
    for s in truth["shipments"]:
        expected = s["billable_amount"] if s["billable"] else "0.00"
        assert s["net_billable_amount"] == expected, s["order_number"]
        assert s["changes"] == [] and s["disputes"] == []
        kinds = [d["kind"] for d in s["expected_documents"]]
        assert kinds == (["invoice"] if s["billable"] else [])


@pytest.fixture(scope="module")
def daily() -> dict:
    world = World(SEED, SHIPMENTS)
    return truth_of(SEED, SHIPMENTS, changes=0.5, clock=world.start_epoch, tick_hours=24)


def test_daily_runs_net_every_document_and_never_over_credit(daily):
    causes = Counter()
    for s in daily["shipments"]:
        billed = 0
        for d in s["expected_documents"]:
            causes[d["cause"]] += 1
            billed += _cents(d["amount"]) * (1 if d["kind"] == "invoice" else -1)
            assert billed >= 0, s["order_number"]
        assert billed == _cents(s["net_billable_amount"]), s["order_number"]
        if not s["expected_documents"]:
            assert s["net_billable_amount"] == "0.00"
    assert {"first", "cancellation", "pod_reversal"} <= set(causes)
    assert any(c.startswith("amend_") for c in causes) and any(
        c.startswith("adjust_") for c in causes
    )


def test_cancelled_billed_shipments_net_zero_and_clean_ones_net_their_final_content(daily):
    for s in daily["shipments"]:
        kinds = {c["kind"] for c in s["changes"]}
        if "cancellation" in kinds and s["expected_documents"]:
            assert s["net_billable_amount"] == "0.00"
            assert s["expected_documents"][-1]["cause"] == "cancellation"
        clean = not kinds and not s["disputes"] and s["billable"]
        if clean and s["hold_reasons"] == []:
            assert s["net_billable_amount"] == s["billable_amount"], s["order_number"]


def test_an_accepted_dispute_yields_one_credit_note_and_a_rejected_one_none(daily):
    outcomes = Counter()
    for s in daily["shipments"]:
        for d in s["disputes"]:
            credits = [x for x in s["expected_documents"] if x["cause"].startswith("dispute_")]
            if not d["raised"]:
                assert credits == []
                continue
            outcomes[d["outcome"]] += 1
            if d["outcome"] == "accepted" and d["resolve_at"] is not None:
                credited_out = {c["kind"] for c in s["changes"]} & {"cancellation", "pod_reversal"}
                # Capped at what is still owed: nothing when the invoice was credited out first.
                assert len(credits) == 1 or (credited_out and not credits), s["order_number"]
                assert all(_cents(x["amount"]) <= _cents(d["disputed_amount"]) for x in credits)
                assert any(x["amount"] == d["disputed_amount"] for x in credits) or credited_out
            else:
                assert credits == [], s["order_number"]
    assert outcomes["accepted"] and outcomes["rejected"]


def test_ticks_run_from_the_clock_every_h_hours_and_end_at_the_horizon():
    world = World(SEED, 40)
    ticks = oracle_ticks(world, world.start_epoch, 10)
    assert ticks[0] == world.start_epoch and ticks[-1] == world.as_of
    assert {b - a for a, b in itertools.pairwise(ticks[:-1])} == {36000}
    assert oracle_ticks(world, world.as_of, 24) == [world.as_of]
