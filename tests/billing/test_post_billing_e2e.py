"""``post_billing`` and ``reconcile_billing`` end to end through Airflow on the sandbox.

One sandbox world is ingested and transformed once; then, in order: a duplicate invoice key stops
a run with nothing posted; invoices made bad on purpose are held with the right rule while an ERP
that throws 429s and 5xx (and enforces a low rate limit) gets every clean invoice exactly once,
even though the first posting run is SIGKILLed midway; a fixed invoice is retried automatically;
reconciliation is clean; the finance report shows the warehouse's figures in Chromium.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal

import pytest

from tests.billing.conftest import TOKEN, erp_get
from tests.billing.report_browser import CHROMIUM, read_report
from waybill import warehouse
from waybill.orchestration.runner import run_dag

pytestmark = pytest.mark.e2e

SEED = 5
SHIPMENTS = 150
ERP_RATE_LIMIT = 4  # posts per second: below sources.yaml's 50, slow enough to kill midway
FORCED = "INV-FORCED-"
# The truth's hold reasons that billing_ready checks itself (open_exception is the mart's alone).
GATE_RULES = {"missing_pod", "credit_hold", "charge_out_of_contract"}


def _truth() -> dict:
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    out = io.StringIO()
    write_truth(World(SEED, SHIPMENTS), out)
    return json.loads(out.getvalue())


@pytest.fixture
def world(own_warehouse, clean_warehouse, airflow_db, monkeypatch, tmp_path):
    """The sandbox (faulty ERP, low rate limit), its truth, and the warehouse built from it."""
    from waybill.demo import SANDBOX_PREFIXES
    from waybill.sources import systems
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.server import running_sandbox

    inbound = tmp_path / "inbound"
    monkeypatch.setenv("WAYBILL_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
    faults = FaultConfig.parse("erp=0.15", kinds=("429", "500", "503"))
    with running_sandbox(
        seed=SEED,
        shipments=SHIPMENTS,
        faults=faults,
        erp_token=TOKEN,
        erp_rate_limit=ERP_RATE_LIMIT,
        inbound=inbound,
    ) as base_url:
        for conn_id, prefix in SANDBOX_PREFIXES.items():
            spec = {"conn_type": "http", "host": f"{base_url}/{prefix}"}
            if conn_id == "erp_api":
                spec["password"] = TOKEN
            if conn_id == "crm_api":  # ingest_crm runs with the other systems
                spec["password"] = "sandbox-crm-secret"
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(spec))
        for dag_id in [f"ingest_{name}" for name in systems()] + ["transform_warehouse"]:
            run_dag(dag_id, retries=False)
        yield base_url, _truth(), tmp_path


def _sql(query: str, params: tuple | dict = ()) -> list[tuple]:
    with warehouse.connect(autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _force_into_invoices(order_numbers: list[str]) -> None:
    """Put held shipments on invoices as if the mart had let them through (a mart bug)."""
    _sql(
        f"""
        insert into marts.fct_invoice_lines (
            invoice_id, invoice_line_number, shipment_id, order_number, tracking_number,
            customer_id, currency, invoice_date, charge_id, charge_code, description,
            contract_id, rate_card_id, quantity, unit_rate, amount
        )
        select
            '{FORCED}' || s.order_number,
            row_number() over (partition by s.shipment_id order by c.charge_id)::integer,
            s.shipment_id, s.order_number, s.tracking_number, s.customer_id, c.currency,
            coalesce(s.delivered_at, now())::date, c.charge_id, c.charge_code, c.charge_code,
            c.contract_id, c.rate_card_id, c.quantity, null, c.amount
        from marts.fct_shipment_to_invoice as s
        inner join marts.fct_freight_charges as c on s.shipment_id = c.shipment_id
        where s.order_number = any(%s)
        """,
        (order_numbers,),
    )
    _sql(
        f"""
        insert into marts.fct_invoices (
            invoice_id, shipment_id, order_number, customer_id, currency, invoice_date,
            line_count, total_amount, delivered_at, pod_received_at
        )
        select
            l.invoice_id, l.shipment_id, l.order_number, l.customer_id, min(l.currency),
            min(l.invoice_date), count(*), sum(l.amount), s.delivered_at, s.pod_received_at
        from marts.fct_invoice_lines as l
        inner join marts.fct_shipment_to_invoice as s on l.shipment_id = s.shipment_id
        where l.invoice_id like '{FORCED}%%'
        group by l.invoice_id, l.shipment_id, l.order_number, l.customer_id,
            s.delivered_at, s.pod_received_at
        """
    )


def _documents(base_url: str) -> Counter:
    return Counter(doc["invoice_number"] for doc in erp_get(base_url, "invoices"))


def _kill_poster_midway(base_url: str) -> None:
    """Run post_billing in a child process and SIGKILL it once some invoices have reached the ERP."""
    code = (
        "from waybill import runtime; runtime.apply()\n"
        "from waybill.orchestration.runner import run_dag\n"
        "run_dag('post_billing', retries=False)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            if sum(_documents(base_url).values()) >= 5:
                break
            time.sleep(0.2)
        assert child.poll() is None, "the poster finished before it could be killed"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)


def test_billing_end_to_end(world):
    base_url, truth, tmp_path = world
    shipments = {s["order_number"]: s for s in truth["shipments"]}

    # 1. A duplicate invoice key: the run fails naming the expectation; nothing is posted.
    (first_invoice,) = _sql("select min(invoice_id) from marts.fct_invoices")[0]
    assert first_invoice, "the mart has no invoices to bill"
    _sql(
        "insert into marts.fct_invoices select * from marts.fct_invoices where invoice_id = %s",
        (first_invoice,),
    )
    stopped = run_dag("post_billing", retries=False, check=False)
    assert stopped.state == "failed"
    (message,) = _sql(
        "select gate_message from ops.billing_runs where run_id = %s", (stopped.run_id,)
    )[0]
    assert "billing_ready.duplicate_invoice_key" in message
    assert "1 unexpected" in message
    assert _documents(base_url) == Counter()
    assert _sql("select count(*) from ops.billing_outbox") == [(0,)]
    _sql(
        "delete from marts.fct_invoices where ctid = (select max(ctid) from marts.fct_invoices"
        " where invoice_id = %s)",
        (first_invoice,),
    )

    # 2. Invoices made bad on purpose: truth-held shipments forced onto invoices, one overcharge.
    forced: dict[str, set[str]] = {}
    for reason in sorted(GATE_RULES):
        held = [s for s in truth["shipments"] if s["delivered_at"] and reason in s["hold_reasons"]]
        held.sort(key=lambda s: len(s["hold_reasons"]))  # prefer one held for this reason alone
        if held:
            forced[f"{FORCED}{held[0]['order_number']}"] = set(held[0]["hold_reasons"]) & GATE_RULES
    assert len(forced) >= 2, "the sandbox world has too few held shipments"
    _force_into_invoices([invoice[len(FORCED) :] for invoice in forced])
    (overcharged,) = _sql(
        "select max(invoice_id) from marts.fct_invoices where invoice_id not like %s",
        (f"{FORCED}%",),
    )[0]
    _sql(
        "update marts.fct_invoice_lines set amount = amount + 10"
        " where invoice_id = %s and invoice_line_number = 1",
        (overcharged,),
    )
    _sql(
        "update marts.fct_invoices set total_amount = total_amount + 10 where invoice_id = %s",
        (overcharged,),
    )

    # 3. Kill the poster midway through a run against the faulty, rate-limited ERP; rerun.
    _kill_poster_midway(base_url)
    partial = sum(_documents(base_url).values())
    run_dag("post_billing", retries=False)

    holds: dict[str, set[str]] = {}
    for invoice, rule in _sql(
        "select invoice_id, rule from ops.billing_holds where released_at is null"
    ):
        holds.setdefault(invoice, set()).add(rule)
    for invoice, reasons in forced.items():
        # Held for each of the truth's reasons (the mart's data may add another, e.g. its POD).
        assert reasons <= holds.get(invoice, set()), f"{invoice} should be held for {reasons}"
    assert holds.get(overcharged) == {"amount_out_of_contract"}

    documents = _documents(base_url)
    assert partial < sum(documents.values())
    assert set(documents.values()) == {1}, "an invoice reached the ERP twice"
    order_of = dict(_sql("select invoice_id, order_number from marts.fct_invoices"))
    assert set(documents) == set(order_of) - set(holds), "every invoice not held is posted"
    wrongly_billed = {o for i, o in order_of.items() if i in documents} - {
        o for o, s in shipments.items() if s["billable"]
    }
    assert not wrongly_billed, (
        f"posted shipments the truth does not call billable: {wrongly_billed}"
    )
    totals = {
        doc["invoice_number"]: Decimal(doc["total_amount"]) for doc in erp_get(base_url, "invoices")
    }
    for invoice, total in totals.items():
        assert total == Decimal(shipments[order_of[invoice]]["billable_amount"]), invoice
    assert not set(documents) & (set(forced) | {overcharged})

    # 4. Fix the overcharge: the next run releases the hold and posts it, once.
    _sql(
        "update marts.fct_invoice_lines set amount = amount - 10"
        " where invoice_id = %s and invoice_line_number = 1",
        (overcharged,),
    )
    _sql(
        "update marts.fct_invoices set total_amount = total_amount - 10 where invoice_id = %s",
        (overcharged,),
    )
    final = run_dag("post_billing", retries=False)
    assert _documents(base_url)[overcharged] == 1
    assert _sql(
        "select released_run_id from ops.billing_holds where invoice_id = %s", (overcharged,)
    ) == [(final.run_id,)]

    # 5. Reconciliation is clean: every posted invoice at the ERP once, same amounts.
    run_dag("reconcile_billing", retries=False)
    assert _sql("select count(*) from ops.reconciliation") == [(0,)]

    # 6. The finance report of the last run, in Chromium when installed.
    reports = tmp_path / "build" / "reports" / "billing"
    index = reports / "latest" / "index.html"
    assert index.exists()
    assert (
        index.parent / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    ).exists()
    if CHROMIUM.exists():
        figures = read_report(index, reports / "latest" / "screenshot.png")
        posted_this_run = _sql(
            "select count(*) from ops.billing_outbox where posted_run_id = %s", (final.run_id,)
        )[0][0]
        held = _sql(
            "select count(distinct invoice_id) from ops.billing_holds where released_at is null"
        )[0][0]
        assert (figures["posted"], figures["held"]) == (posted_this_run, held)
        assert figures["network"] == []
        # Business holds: the page's counts equal the mart's held rows, by reason.
        mart_holds = dict(
            _sql(
                "select hold_reason, count(*)::int from marts.fct_shipment_to_invoice"
                " where billing_status = 'held' group by hold_reason"
            )
        )
        assert mart_holds, "the world of this test has held shipments"
        assert figures["business_holds"] == mart_holds
        assert figures["business_held"] == sum(mart_holds.values())
        # Every example links to its evidence on the page.
        assert figures["evidence_sections"]

    # 7. Every shipment the truth calls billable (and we did not spoil) reached the ERP once.
    documents = _documents(base_url)
    posted_orders = {order_of[invoice] for invoice in documents}
    clean = {o for o, s in shipments.items() if s["billable"]}
    missing = clean - posted_orders
    assert not missing, (
        f"{len(missing)} of {len(clean)} billable shipments were not posted because the mart"
        f" has no invoice for them, e.g. {sorted(missing)[:5]}"
    )
