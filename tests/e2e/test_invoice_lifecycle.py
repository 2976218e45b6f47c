"""The whole life of an invoice through Airflow: the sandbox world unfolds day by day (its clock
advanced between runs), shipments change after they were billed (late accessorials, re-weighs,
rate corrections, POD reversals, cancellations), customers dispute, and every day the pipeline
runs as users run it — ingest, transform, gate and post.

At the end the ERP's own ledger, netted per shipment (invoices − credit notes), must equal the
sandbox truth's ``net_billable_amount`` to the cent for every shipment; no Idempotency-Key may
name two documents, no shipment may hold two open invoices, and reconciliation must find no
critical class.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
import requests

from waybill import warehouse
from waybill.demo import sandbox_connections
from waybill.orchestration.runner import run_dag

pytestmark = pytest.mark.e2e

TOKEN = "lifecycle-test-token"
SEED, SHIPMENTS, CHANGES = 5, 90, 0.5
TICK_HOURS, TICKS = 24, 3
PIPELINE = (
    "ingest_erp",
    "ingest_wms",
    "ingest_tms",
    "ingest_carriers",
    "transform_warehouse",
    "post_billing",
)


def ledger_net(path) -> tuple[dict[str, Decimal], Counter, list[dict]]:
    """Net per shipment from the ERP's ledger (JSONL), the use count of each key, the lines."""
    lines = [json.loads(text) for text in path.read_text().splitlines() if text.strip()]
    net: dict[str, Decimal] = defaultdict(Decimal)
    for doc in lines:
        sign = 1 if doc["kind"] == "invoice" else -1
        (shipment,) = doc["shipment_ids"]  # Waybill bills one shipment per document
        net[shipment] += sign * Decimal(doc["amount"])
    return dict(net), Counter(doc["idempotency_key"] for doc in lines), lines


@pytest.fixture
def unfolding_world(monkeypatch, tmp_path, airflow_db, clean_warehouse):
    """A sandbox whose clock starts TICKS-1 ticks before the horizon; yields (url, truth, ledger)."""
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    world = World(SEED, SHIPMENTS, changes=CHANGES)
    start = world.as_of - (TICKS - 1) * TICK_HOURS * 3600
    buffer = io.StringIO()
    write_truth(world, buffer, clock=start, tick_hours=TICK_HOURS)
    truth = json.loads(buffer.getvalue())
    ledger = tmp_path / "erp_ledger.jsonl"
    inbound = tmp_path / "inbound"  # files arrive by the carrier's listing, as the clock allows
    inbound.mkdir()
    with running_sandbox(
        seed=SEED,
        shipments=SHIPMENTS,
        erp_token=TOKEN,
        changes=CHANGES,
        clock=start,
        ledger=ledger,
    ) as base_url:
        for name, value in sandbox_connections(base_url, TOKEN).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
        yield base_url, truth, ledger


def test_the_erp_ledger_nets_to_the_truth_after_every_change(unfolding_world):
    base_url, truth, ledger = unfolding_world
    for tick in range(TICKS):
        if tick:
            requests.post(
                f"{base_url}/admin/clock",
                json={"advance_hours": TICK_HOURS},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=30,
            ).raise_for_status()
        for dag_id in PIPELINE:
            run_dag(dag_id, retries=False)
    run_dag("reconcile_billing", retries=False)

    net, keys, documents = ledger_net(ledger)
    expected = {s["order_number"]: Decimal(s["net_billable_amount"]) for s in truth["shipments"]}
    wrong = {
        order: (str(net.get(order, Decimal("0.00"))), str(amount))
        for order, amount in expected.items()
        if net.get(order, Decimal("0.00")) != amount
    }
    kinds = Counter(doc["kind"] for doc in documents)
    assert not wrong, (
        f"{len(wrong)} shipments net wrong (ERP, truth): {dict(list(wrong.items())[:8])}"
    )
    assert max(keys.values()) == 1
    assert kinds["credit_note"] > 0, "the world changed after billing: credit notes expected"
    with warehouse.connect() as conn:
        critical = conn.execute(
            "select issue, count(*) from ops.reconciliation where severity = 'critical'"
            " group by issue"
        ).fetchall()
    assert critical == []
