"""A pipeline that reads only the sandbox's APIs, run daily from START, ends with exactly the
billing oracle's net per shipment in the ERP's ledger: the oracle sees nothing a client cannot."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from tests.sandbox.helpers import ERP_HEADERS, truth_of
from tests.sandbox.reference_pipeline import Pipeline
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.world import World

SEED, SHIPMENTS, DAYS, CHANGES = 5, 300, 14, 0.5


def _cents(text: str) -> int:
    return round(float(text) * 100)


def test_a_daily_pipeline_over_http_ends_with_the_oracles_net_in_the_ledger(tmp_path):
    world = World(SEED, SHIPMENTS, days=DAYS, changes=CHANGES)
    truth = truth_of(
        SEED, SHIPMENTS, days=DAYS, changes=CHANGES, clock=world.start_epoch, tick_hours=24
    )
    ledger = tmp_path / "erp_ledger.jsonl"
    with running_sandbox(
        seed=SEED,
        shipments=SHIPMENTS,
        days=DAYS,
        changes=CHANGES,
        clock="START",
        ledger=ledger,
    ) as base:
        pipeline = Pipeline(base)
        while True:
            pipeline.run()
            before = httpx.get(f"{base}/admin/clock", headers=ERP_HEADERS).json()
            if before["clock"] == before["horizon"]:
                break
            httpx.post(
                f"{base}/admin/clock", json={"advance_hours": 24}, headers=ERP_HEADERS
            ).raise_for_status()
        disputes = pipeline._erp("/erp/disputes")
    net: Counter = Counter()
    kinds: Counter = Counter()
    for line in ledger.read_text().splitlines():
        doc = json.loads(line)
        sign = 1 if doc["kind"] == "invoice" else -1
        net[doc["shipment_ids"][0]] += sign * _cents(doc["amount"])
        kinds[doc["kind"]] += 1
    wrong = {
        s["order_number"]: (net[s["order_number"]], s["net_billable_amount"])
        for s in truth["shipments"]
        if net[s["order_number"]] != _cents(s["net_billable_amount"])
    }
    assert wrong == {}
    raised = sum(d["raised"] for s in truth["shipments"] for d in s["disputes"])
    assert len(disputes) == raised > 0
    assert Counter(d["status"] for d in disputes)["accepted"] > 0
    causes = Counter(
        d["cause"].split("_")[0] for s in truth["shipments"] for d in s["expected_documents"]
    )
    assert {"first", "amend", "adjust", "dispute", "cancellation", "pod", "rebill"} <= set(causes)
    assert kinds["credit_note"] == sum(
        d["kind"] == "credit_note" for s in truth["shipments"] for d in s["expected_documents"]
    )
