"""Truth semantics: KPIs follow from per-shipment facts, holds are explained, formats stable."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.sandbox.helpers import truth_of

HOLD_REASONS = {"missing_pod", "open_exception", "credit_hold", "charge_out_of_contract"}


def test_carrier_kpis_follow_from_shipments(truth):
    for code, kpi in truth["carriers"].items():
        rows = [s for s in truth["shipments"] if s["carrier_code"] == code and s["delivered_at"]]
        assert kpi["delivered"] == len(rows)
        on_time = sum(s["is_on_time"] for s in rows)
        otif = sum(s["is_on_time"] and s["is_in_full"] for s in rows)
        assert kpi["on_time_pct"] == round(100 * on_time / len(rows), 1)
        assert kpi["otif_pct"] == round(100 * otif / len(rows), 1)


def test_billable_and_hold_reason_are_consistent(truth):
    for s in truth["shipments"]:
        assert re.fullmatch(r"-?\d+\.\d{2}", s["billable_amount"])
        assert Decimal(s["billable_amount"]) == sum(Decimal(v) for v in s["charges"].values())
        if s["delivered_at"] is None:
            assert not s["billable"] and s["hold_reason"] is None and s["is_on_time"] is None
        else:
            assert s["billable"] == (s["hold_reason"] is None)
            assert set(s["hold_reasons"]) <= HOLD_REASONS
            assert s["hold_reason"] == (s["hold_reasons"][0] if s["hold_reasons"] else None)
        if s["hold_reason"] == "missing_pod":
            assert "pod_received" not in s["milestones"]


def test_messiness_is_present_at_a_realistic_scale():
    truth = truth_of(42, 2000)
    reasons = truth["billing"]["hold_reasons"]
    assert {"missing_pod", "credit_hold", "charge_out_of_contract"} <= set(reasons)
    assert 80 < truth["kpis"]["on_time_pct"] < 100
    assert 80 < truth["kpis"]["in_full_pct"] < 100
    assert truth["carriers"]["ridgeline"]["shipments_with_invoice_variance"] > 0
    assert truth["csv_bad_rows"]
    assert 0 < truth["inventory"]["accuracy_pct"] < 100
    assert any(s["delivered_at"] is None for s in truth["shipments"])
