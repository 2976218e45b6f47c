"""Reconciliation of the sandbox ERP's invoices against the outbox."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.billing.conftest import TOKEN, erp_get
from tests.billing.outbox_rows import add_pending
from waybill import warehouse
from waybill.billing.reconcile import ReconciliationFailed, compare, reconcile
from waybill.billing.run import post_invoices


@pytest.fixture
def prefix(outbox_cleanup):
    value = f"INV-R{uuid.uuid4().hex[:8]}-"
    outbox_cleanup.append(value)
    return value


def _issues(documents: list[dict], prefix: str) -> list[tuple]:
    """Run the comparison and return this test's issues; rolled back, so nothing stays."""
    with warehouse.connect() as conn:
        compare(conn, documents, "test")
        rows = conn.execute(
            "select issue, invoice_id, detail from ops.reconciliation"
            " where invoice_id like %s order by issue, invoice_id",
            (f"{prefix}%",),
        ).fetchall()
        conn.rollback()
    return rows


def test_matching_erp_and_outbox_have_no_issues(sandbox, prefix):
    add_pending(prefix, erp_get(sandbox, "customers"), 5)
    post_invoices()
    assert _issues(erp_get(sandbox, "invoices"), prefix) == []


def test_missing_duplicated_and_mismatched_invoices_are_each_reported(sandbox, prefix):
    ids = add_pending(prefix, erp_get(sandbox, "customers"), 4)
    post_invoices()
    documents = erp_get(sandbox, "invoices")
    # A second ERP document for ids[0] under a foreign key: a double billing.
    first = next(d for d in documents if d["invoice_number"] == ids[0])
    with warehouse.connect() as conn:
        body = conn.execute(
            "select body from ops.billing_outbox where invoice_id = %s", (ids[0],)
        ).fetchone()[0]
    requests.post(
        f"{sandbox}/erp/invoices",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "manual-repost"},
        timeout=10,
    ).raise_for_status()
    documents = erp_get(sandbox, "invoices")
    documents = [d for d in documents if d["invoice_number"] != ids[1]]  # the ERP lost one
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.billing_outbox set total_amount = total_amount + 1 where invoice_id = %s",
            (ids[2],),
        )

    issues = _issues(documents, prefix)

    assert [(issue, invoice) for issue, invoice, _detail in issues] == [
        ("amount_mismatch", ids[2]),
        ("duplicated", ids[0]),
        ("missing", ids[1]),
    ]
    assert first["document_number"] in issues[1][2] or "2 ERP documents" in issues[1][2]


def test_reconcile_fails_the_run_when_anything_disagrees(sandbox, prefix):
    ids = add_pending(prefix, erp_get(sandbox, "customers"), 2)
    post_invoices()
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.billing_outbox set idempotency_key = idempotency_key || 'x'"
            " where invoice_id = %s",
            (ids[0],),
        )

    with pytest.raises(ReconciliationFailed, match=r"missing"):
        reconcile("test-run")

    with warehouse.connect() as conn:
        found = conn.execute(
            "select issue from ops.reconciliation where run_id = 'test-run' and invoice_id = %s"
            " order by issue",
            (ids[0],),
        ).fetchall()
    # Our row under a key the ERP never saw, and the ERP's document under a key we lost.
    assert found == [("missing",), ("unknown",)]
