"""The invoice as a versioned document against the sandbox ERP: amendments, disputes and the
crash matrix — the poster stopped before a send, after the ERP accepted but before the outbox
knew, and in the middle of a credit note, each combined with an amendment, then rerun.

A crash is simulated where a SIGKILL would land: the exception escapes the poster at that
point, so the warehouse holds exactly what was committed before it (each state change is its
own transaction) and the ERP exactly what it accepted. The end state is then checked against
the ERP's own documents, read independently of the code under test.
"""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal

import pytest

from tests.billing.conftest import erp_get
from tests.expectations.billing_tables import create, line
from waybill import warehouse
from waybill.billing import poster
from waybill.billing.run import apply_gate, post_invoices


class Crash(BaseException):
    """Stands for the process being killed (not an Exception: nothing may catch it)."""


@pytest.fixture
def prefix(scratch_schema, outbox_cleanup):
    value = f"INV-L{uuid.uuid4().hex[:8]}-"
    outbox_cleanup.append(value)
    return value


def _customer(base_url: str) -> tuple[str, str]:
    usd = [c for c in erp_get(base_url, "customers") if c["currency"] == "USD"]
    return usd[0]["customer_id"], "USD"


def _mart(schema: str, invoice: str, customer: str, linehaul: str) -> None:
    """(Re)build the scratch mart with one two-line invoice for ``customer``."""
    with warehouse.connect(autocommit=True) as conn:
        for table in ("fct_invoice_lines", "fct_invoices", "fct_freight_charges", "dim_customers"):
            conn.execute(f"drop table if exists {schema}.{table}")
    create(
        schema,
        [
            line(invoice, 1, linehaul, customer_id=customer),
            line(invoice, 2, "12.50", customer_id=customer),
        ],
        customers=[(customer, "USD", False, None)],
    )


def _erp_net(base_url: str, invoice: str) -> tuple[Decimal, Counter]:
    """Net billed at the ERP for ``invoice``'s thread (invoices − credit notes), and key use."""
    mine = [
        {**doc, "kind": "invoice"}
        for doc in erp_get(base_url, "invoices")
        if doc["idempotency_key"].startswith(f"waybill:{invoice}:")
    ] + [
        {**doc, "kind": "credit_note"}
        for doc in erp_get(base_url, "credit-notes")
        if doc["idempotency_key"].startswith(f"waybill:{invoice}:")
    ]
    net = sum(
        (Decimal(d["total_amount"]) * (1 if d["kind"] == "invoice" else -1) for d in mine),
        Decimal("0"),
    )
    return net, Counter(d["idempotency_key"] for d in mine)


def _run(schema: str, run: str) -> dict:
    decision = apply_gate(run, schema=schema, require_verdict=False)
    try:
        posted = post_invoices(run)
    except RuntimeError:
        posted = {}
    return {**decision, **posted}


def _crash_on_send(monkeypatch, *, kind: str, after_accept: bool) -> None:
    """The next send of a ``kind`` document dies before the request, or after the ERP answered
    and before the outcome is recorded."""
    real_send = poster._send

    def send(client, row):
        if row[4] != kind:
            return real_send(client, row)
        monkeypatch.setattr(poster, "_send", real_send)  # crash once
        if after_accept:
            real_send(client, row)
        raise Crash(f"killed {'after' if after_accept else 'before'} sending {row[0]} v{row[1]}")

    monkeypatch.setattr(poster, "_send", send)


@pytest.mark.parametrize(
    ("crash_kind", "after_accept"),
    [("invoice", False), ("invoice", True), ("credit_note", True), ("credit_note", False)],
    ids=["before-send", "after-accept", "credit-note-after-accept", "credit-note-before-send"],
)
def test_crash_matrix_with_amendments_bills_exactly_the_mart(
    sandbox, scratch_schema, prefix, monkeypatch, crash_kind, after_accept
):
    customer, _currency = _customer(sandbox)
    invoice = f"{prefix}0001"
    _mart(scratch_schema, invoice, customer, "100.00")
    if crash_kind == "credit_note":
        _run(scratch_schema, f"r1-{prefix}")  # posted cleanly first
        _mart(scratch_schema, invoice, customer, "130.00")  # an amendment: CN + replacement
    _crash_on_send(monkeypatch, kind=crash_kind, after_accept=after_accept)
    with pytest.raises(Crash):
        _run(scratch_schema, f"r2-{prefix}")
    # The world moves on while the outcome is unknown: the amount changes again.
    _mart(scratch_schema, invoice, customer, "155.25")
    _run(scratch_schema, f"r3-{prefix}")
    again = _run(scratch_schema, f"r4-{prefix}")  # a rerun changes nothing

    net, keys = _erp_net(sandbox, invoice)
    assert net == Decimal("167.75")  # 155.25 + 12.50: exactly what the mart says now
    assert max(keys.values()) == 1  # no two ERP documents under one Idempotency-Key
    assert again.get("enqueued") == 0 and again.get("posted") == 0
    with warehouse.connect() as conn:
        states = dict(
            conn.execute(
                "select status, count(*) from ops.billing_outbox where invoice_id = %s"
                " group by status",
                (invoice,),
            ).fetchall()
        )
    assert set(states) <= {"posted", "cancelled"}, states


def test_accepted_dispute_credits_once_and_rejected_none(sandbox, scratch_schema, prefix):
    """Disputes reach the planner through the disputes relation the ERP staging provides."""
    customer, _currency = _customer(sandbox)
    invoices = [f"{prefix}0001", f"{prefix}0002"]
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"drop table if exists {scratch_schema}.fct_invoice_lines")
    create(
        scratch_schema,
        [line(i, n, a, customer_id=customer) for i in invoices for n, a in ((1, "80.00"),)],
        customers=[(customer, "USD", False, None)],
    )
    _run(scratch_schema, f"d1-{prefix}")
    with warehouse.connect(autocommit=True) as conn:
        documents = dict(
            conn.execute(
                "select invoice_id, erp_document_number from ops.billing_outbox"
                " where invoice_id = any(%s)",
                (invoices,),
            ).fetchall()
        )
        conn.execute(
            f"create table {scratch_schema}.disputes (dispute_id text, document_number text,"
            " external_id text, disputed_amount numeric, reason_code text, dispute_status text)"
        )
        conn.execute(
            f"insert into {scratch_schema}.disputes values"
            " (%s, %s, %s, 20.00, 'rate_dispute', 'accepted'),"
            " (%s, %s, %s, 30.00, 'service_failure', 'rejected')",
            (
                f"D-{prefix}1",
                documents[invoices[0]],
                invoices[0],
                f"D-{prefix}2",
                documents[invoices[1]],
                invoices[1],
            ),
        )
    from waybill.billing import documents as planner

    for run in ("d2", "d3"):  # the second pass must add nothing
        with warehouse.connect() as conn, conn.transaction():
            planner.billing_lock(conn)
            planner.plan_documents(
                conn,
                f"{run}-{prefix}",
                lines_table=f"{scratch_schema}.fct_invoice_lines",
                disputes_table=f"{scratch_schema}.disputes",
            )
        post_invoices(f"{run}-{prefix}")

    first_net, first_keys = _erp_net(sandbox, invoices[0])
    second_net, _ = _erp_net(sandbox, invoices[1])
    assert (first_net, second_net) == (Decimal("60.00"), Decimal("80.00"))
    credit_notes = [
        d for d in erp_get(sandbox, "credit-notes") if d["idempotency_key"] in first_keys
    ]
    assert len(credit_notes) == 1
    assert credit_notes[0]["original_document_id"] == documents[invoices[0]]


def test_only_an_explicit_verdict_revokes_a_posted_invoice(sandbox, scratch_schema, prefix):
    """Cancelled (the mart says so) → one credit note for the open balance; a thread merely
    missing from the batch (a partial build, another scope) → nothing."""
    customer, _currency = _customer(sandbox)
    cancelled, missing = f"{prefix}0001", f"{prefix}0002"
    create(
        scratch_schema,
        [line(i, 1, "90.00", customer_id=customer) for i in (cancelled, missing)],
        customers=[(customer, "USD", False, None)],
    )
    _run(scratch_schema, f"v1-{prefix}")
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"delete from {scratch_schema}.fct_invoice_lines")
        conn.execute(
            f"create table {scratch_schema}.fct_shipment_to_invoice (order_number text,"
            " billing_status text, hold_reasons text[], charge_count integer)"
        )
        conn.execute(
            f"insert into {scratch_schema}.fct_shipment_to_invoice values"
            " (%s, 'held', array['cancelled', 'missing_pod'], 0)",
            (cancelled.removeprefix("INV-"),),
        )
    _run(scratch_schema, f"v2-{prefix}")
    again = _run(scratch_schema, f"v3-{prefix}")

    assert _erp_net(sandbox, cancelled)[0] == Decimal("0.00")
    assert _erp_net(sandbox, missing)[0] == Decimal("90.00")
    assert again.get("enqueued") == 0
