"""The whole life of an invoice through Airflow: the sandbox world unfolds day by day (its clock
advanced between runs), shipments change after they were billed (late accessorials, re-weighs,
rate corrections, POD reversals, cancellations), customers dispute, and every day the pipeline
runs as users run it — ingest, transform, gate and post.

At the end the ERP's own ledger, netted per shipment (invoices − credit notes), must equal the
sandbox truth's ``net_billable_amount`` to the cent for every shipment; no Idempotency-Key may
name two documents, no shipment may hold two open invoices, and reconciliation must find no
critical class.

With faults on (request faults, malformed records, truncated files) the same holds against the
truth of what a pipeline can read, and the CRM — synced at every run — holds exactly the cases
the truth expects, each shipment's status equal to the mart's and the truth's.
"""

from __future__ import annotations

import io
import json
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
import requests

from waybill import warehouse
from waybill.crm.mapping import load_mapping
from waybill.demo import crm_vs_truth, ledger_vs_truth, mart_statuses, sandbox_connections
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


FAULTS, FAULTY_SEED, FAULTY_SHIPMENTS = 0.1, 42, 240


@pytest.fixture
def faulty_world(monkeypatch, tmp_path, airflow_db, clean_warehouse):
    """Like ``unfolding_world`` with faults at 0.1 (slow answers cut to 0.2 s) and a CRM ledger;
    yields (url, truth, ERP ledger, CRM ledger)."""
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    faults = FaultConfig.parse(FAULTS, slow_seconds=0.2)
    world = World(FAULTY_SEED, FAULTY_SHIPMENTS, changes=CHANGES)
    start = world.as_of - (TICKS - 1) * TICK_HOURS * 3600
    buffer = io.StringIO()
    write_truth(
        world,
        buffer,
        faults,
        clock=start,
        tick_hours=TICK_HOURS,
        missing_pod_hours=load_mapping().missing_pod_after_hours,
    )
    truth = json.loads(buffer.getvalue())
    ledger, crm_ledger = tmp_path / "erp_ledger.jsonl", tmp_path / "crm_ledger.jsonl"
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    with running_sandbox(
        seed=FAULTY_SEED,
        shipments=FAULTY_SHIPMENTS,
        faults=faults,
        erp_token=TOKEN,
        changes=CHANGES,
        clock=start,
        ledger=ledger,
        crm_ledger=crm_ledger,
    ) as base_url:
        for name, value in sandbox_connections(base_url, TOKEN).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
        yield base_url, truth, ledger, crm_ledger


# Slow for now: on the loaded shared machine only its first run (day 0: every document and CRM
# case) was checked against the truth before the deadline; drop the mark once a full run passes
# (WAYBILL_SLOW_TESTS=1 pytest tests/e2e/test_invoice_lifecycle.py -k faults).
@pytest.mark.slow
def test_with_faults_the_erp_ledger_and_the_crm_match_the_truth(faulty_world):
    base_url, truth, ledger, crm_ledger = faulty_world
    assert truth["malformed"] and truth["truncated_files"], "the faults must hide something"
    for tick in range(TICKS):
        if tick:
            requests.post(
                f"{base_url}/admin/clock",
                json={"advance_hours": TICK_HOURS},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=30,
            ).raise_for_status()
        for dag_id in (*PIPELINE, "sync_crm"):
            run_dag(dag_id, retries=False)
    run_dag("reconcile_billing", retries=False)

    money = ledger_vs_truth(ledger, truth)
    assert money["checked"] == FAULTY_SHIPMENTS
    assert money["mismatched"] == 0, money["examples"]
    assert money["shared_idempotency_keys"] == 0
    assert money["documents_by_kind"].get("credit_note", 0) > 0
    crm = crm_vs_truth(crm_ledger, truth, mart_statuses())
    assert crm["cases_expected"] > 0
    assert crm["agrees"], crm
    assert crm["statuses_found"] == crm["statuses_expected"]
    with warehouse.connect() as conn:
        critical = conn.execute(
            "select issue, count(*) from ops.reconciliation where severity = 'critical'"
            " group by issue"
        ).fetchall()
    assert critical == []
