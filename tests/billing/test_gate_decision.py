"""The gate's decision in one transaction: holds for row failures, the outbox for the rest."""

from __future__ import annotations

import pytest

from tests.expectations.billing_tables import clean_invoices, create, line
from waybill import warehouse
from waybill.billing.run import GateNotPassed, apply_gate, record_gate


def _rows(query: str, params: tuple = ()) -> list[tuple]:
    with warehouse.connect() as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def prefix(scratch_schema, outbox_cleanup):
    value = f"INV-{scratch_schema[-10:]}-"
    outbox_cleanup.append(value)
    return value


def test_bad_invoices_are_held_and_the_rest_queued(scratch_schema, prefix):
    lines = clean_invoices(3, prefix=prefix)
    lines += [
        line(f"{prefix}NEG", 1, "-5.00"),
        line(f"{prefix}HOLD", 1, "10.00", customer_id="C0002", currency="CAD"),
    ]
    create(scratch_schema, lines)

    decision = apply_gate(f"run-{prefix}", schema=scratch_schema, require_verdict=False)

    assert decision["held_invoices"] == 2
    holds = _rows(
        "select invoice_id, rule, observed_value from ops.billing_holds"
        " where invoice_id like %s and released_at is null order by 1",
        (f"{prefix}%",),
    )
    assert holds == [
        (f"{prefix}HOLD", "credit_hold", "C0002 on credit hold"),
        (f"{prefix}NEG", "negative_amount", "LINEHAUL -5.00"),
    ]
    queued = _rows(
        "select invoice_id, version, idempotency_key, status, total_amount, body"
        " from ops.billing_outbox where invoice_id like %s order by 1",
        (f"{prefix}%",),
    )
    assert [row[0] for row in queued] == [f"{prefix}0001", f"{prefix}0002", f"{prefix}0003"]
    invoice_id, version, key, status, total, body = queued[0]
    assert (version, key, status, str(total)) == (
        1,
        f"waybill:{invoice_id}:v1",
        "pending",
        "112.50",
    )
    assert body["total_amount"] == "112.50"
    assert [ln["amount"] for ln in body["lines"]] == ["100.00", "12.50"]
    assert body["lines"][0]["shipment_reference"] == f"SO-{invoice_id}"

    # Rerun on the same data: nothing changes.
    again = apply_gate(f"run2-{prefix}", schema=scratch_schema, require_verdict=False)
    assert (again["enqueued"], again["new_holds"], again["released_holds"]) == (0, 0, 0)


def test_a_fixed_invoice_is_released_and_queued(scratch_schema, prefix):
    create(scratch_schema, [line(f"{prefix}NEG", 1, "-5.00")])
    apply_gate(f"run-{prefix}", schema=scratch_schema, require_verdict=False)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"update {scratch_schema}.fct_invoice_lines set amount = 5")
        conn.execute(f"update {scratch_schema}.fct_invoices set total_amount = 5")
        conn.execute(f"update {scratch_schema}.fct_freight_charges set contract_amount = 5")

    fixed = apply_gate(f"fix-{prefix}", schema=scratch_schema, require_verdict=False)

    assert (fixed["released_holds"], fixed["enqueued"], fixed["held_invoices"]) == (1, 1, 0)
    released = _rows(
        "select released_run_id from ops.billing_holds where invoice_id = %s", (f"{prefix}NEG",)
    )
    assert released == [(f"fix-{prefix}",)]


def test_an_unsent_document_is_replaced_and_a_posted_one_amended(scratch_schema, prefix):
    create(scratch_schema, clean_invoices(1, prefix=prefix))
    apply_gate(f"a-{prefix}", schema=scratch_schema, require_verdict=False)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"update {scratch_schema}.fct_invoice_lines set description = 'Changed'")
    apply_gate(f"b-{prefix}", schema=scratch_schema, require_verdict=False)
    versions = _rows(
        "select version, kind, purpose, status, last_error from ops.billing_outbox"
        " where invoice_id like %s order by version",
        (f"{prefix}%",),
    )
    # v1 never left: it is cancelled, not credited.
    assert [v[:4] for v in versions] == [
        (1, "invoice", "first", "cancelled"),
        (2, "invoice", "first", "pending"),
    ]
    assert versions[0][4].startswith("superseded by content")

    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.billing_outbox set status = 'posted', erp_document_number = 'ERP-INV-9'"
            " where invoice_id like %s and version = 2",
            (f"{prefix}%",),
        )
        conn.execute(f"update {scratch_schema}.fct_invoice_lines set amount = amount + 1")
        conn.execute(f"update {scratch_schema}.fct_invoices set total_amount = total_amount + 2")
        conn.execute(
            f"update {scratch_schema}.fct_freight_charges set contract_amount = contract_amount + 1"
        )
    apply_gate(f"c-{prefix}", schema=scratch_schema, require_verdict=False)
    amended = _rows(
        "select version, kind, purpose, status, total_amount::text, original_version"
        " from ops.billing_outbox where invoice_id like %s and version > 2 order by version",
        (f"{prefix}%",),
    )
    # Posted v2 (112.50) is credited in full and replaced by the new content (114.50).
    assert amended == [
        (3, "credit_note", "amendment_credit", "pending", "112.50", 2),
        (4, "invoice", "replacement", "pending", "114.50", None),
    ]
    causes = _rows(
        "select distinct cause from ops.billing_document_events"
        " where invoice_id like %s and version > 2 and status = 'pending'",
        (f"{prefix}%",),
    )
    assert causes == [("changed after posting: FUEL 12.50→13.50, LINEHAUL 100.00→101.00",)]
    again = apply_gate(f"d-{prefix}", schema=scratch_schema, require_verdict=False)
    assert again["enqueued"] == 0


def test_a_stopped_gate_queues_nothing(scratch_schema, prefix):
    create(scratch_schema, clean_invoices(2, prefix=prefix))
    run_id = f"stop-{prefix}"
    message = "critical expectation failed: billing_ready.duplicate_invoice_key, 3 unexpected"
    record_gate(run_id, passed=False, message=message, seconds=0.1)
    try:
        with pytest.raises(GateNotPassed) as raised:
            apply_gate(run_id, schema=scratch_schema)
        with pytest.raises(GateNotPassed, match="has not run"):
            apply_gate(f"never-{prefix}", schema=scratch_schema)
    finally:
        with warehouse.connect(autocommit=True) as conn:
            conn.execute("delete from ops.billing_runs where run_id = %s", (run_id,))

    assert str(raised.value) == message
    assert _rows("select 1 from ops.billing_outbox where invoice_id like %s", (f"{prefix}%",)) == []
