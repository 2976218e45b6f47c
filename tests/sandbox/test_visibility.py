"""What faults hide for good, and how the truth honours it (``waybill_sandbox.visibility``)."""

from __future__ import annotations

import pytest

from tests.sandbox.helpers import truth_of
from waybill.connectors.edi import stream_file
from waybill_sandbox.faults import REQUEST_KINDS, FaultConfig
from waybill_sandbox.world import World
from waybill_sandbox.x12 import iter_x12_files

SEED, SHIPMENTS, CHANGES = 11, 300, 0.5


@pytest.fixture(scope="module")
def faulty_truth() -> dict:
    world = World(SEED, SHIPMENTS, changes=CHANGES)
    return truth_of(
        SEED,
        SHIPMENTS,
        FaultConfig.parse("erp=0.4,wms=0.4,tms=0.4,carriers=0.4"),
        changes=CHANGES,
        clock=world.as_of - 2 * 86400,
    )


def test_the_sets_before_a_cut_are_what_waybills_x12_reader_gets(tmp_path):
    files = [f for f in iter_x12_files(World(SEED, SHIPMENTS), FaultConfig.parse("carriers=0.5"))]
    truncated = [f for f in files if f.truncated]
    assert truncated, "carrier faults at 0.5 must cut some files"
    for f in truncated:
        path = tmp_path / f.name
        path.write_bytes(f.content)
        sound = sum(1 for tset in stream_file(path) if not tset.errors)
        assert sound == f.complete_sets, f.name
    assert all(f.complete_sets == f.transaction_sets for f in files if not f.truncated)


def test_a_shipment_whose_erp_order_or_tms_shipment_is_unreadable_is_never_billed(faulty_truth):
    hidden = {
        m["record"].split("/", 1)[1]
        for m in faulty_truth["malformed"]
        if m["record"].startswith(("orders/", "shipments/"))
    }
    assert hidden, "faults at 0.4 must hide some orders and TMS shipments"
    seen = 0
    for s in faulty_truth["shipments"]:
        if s["order_number"] in hidden or s["tms_shipment_id"] in hidden:
            seen += 1
            assert s["net_billable_amount"] == "0.00", s["order_number"]
            assert s["expected_documents"] == []
        if s["order_number"] in hidden:
            # No customer: the CRM refuses its status, but takes its cases; with no order there
            # is no promise to be late against and nothing billed to dispute.
            assert s["customer_status"] is None
            assert not {c["exception"] for c in s["crm_cases"]} & {"delay", "dispute"}
    assert seen >= len(hidden) / 2  # an order and its TMS shipment may both be unreadable


def test_request_faults_hide_nothing():
    world = World(SEED, 120, changes=CHANGES)
    clock = world.as_of - 2 * 86400
    clear = truth_of(SEED, 120, changes=CHANGES, clock=clock)
    retried = truth_of(
        SEED, 120, FaultConfig.parse(0.3, kinds=REQUEST_KINDS), changes=CHANGES, clock=clock
    )
    assert clear["shipments"] == retried["shipments"]
