"""Three-way reconciliation: the mart, the outbox and the sandbox ERP's documents."""

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


@pytest.fixture
def mart(prefix):
    """A scratch mart of invoice lines; ``snapshot()`` copies what the outbox posted into it."""
    name = f"public.mart_{prefix[4:-1].lower()}"

    def snapshot() -> str:
        with warehouse.connect(autocommit=True) as conn:
            conn.execute(
                f"create table {name} as select invoice_id, total_amount as amount"
                " from ops.billing_outbox where invoice_id like %s and status = 'posted'",
                (f"{prefix}%",),
            )
        return name

    yield snapshot
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"drop table if exists {name}")


def _issues(documents: list[dict], prefix: str, lines_table: str) -> list[tuple]:
    """Run the comparison and return this test's issues; rolled back, so nothing stays."""
    with warehouse.connect() as conn:
        compare(conn, documents, "test", lines_table)
        rows = conn.execute(
            "select issue, invoice_id, detail from ops.reconciliation"
            " where invoice_id like %s order by issue, invoice_id",
            (f"{prefix}%",),
        ).fetchall()
        conn.rollback()
    return rows


def test_matching_mart_outbox_and_erp_have_no_issues(sandbox, prefix, mart):
    add_pending(prefix, erp_get(sandbox, "customers"), 5)
    post_invoices()
    assert _issues(erp_get(sandbox, "invoices"), prefix, mart()) == []


def test_a_change_the_erp_never_got_is_drift_unless_queued(sandbox, prefix, mart):
    ids = add_pending(prefix, erp_get(sandbox, "customers"), 2)
    post_invoices()
    lines = mart()
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(f"update {lines} set amount = amount + 10")
    documents = erp_get(sandbox, "invoices")

    drift = _issues(documents, prefix, lines)
    with warehouse.connect(autocommit=True) as conn:  # the change, queued but not yet sent
        conn.execute(
            "update ops.billing_outbox set status = 'pending' where invoice_id = %s", (ids[0],)
        )
        conn.execute(
            "insert into ops.billing_outbox (invoice_id, version, idempotency_key, customer_id,"
            " currency, total_amount, body, body_sha256, status)"
            " select invoice_id, 2, idempotency_key || '-2', customer_id, currency,"
            " total_amount, body, body_sha256, 'pending' from ops.billing_outbox"
            " where invoice_id = %s",
            (ids[1],),
        )
    queued = _issues(documents, prefix, lines)

    assert [(issue, invoice) for issue, invoice, _ in drift] == [
        ("amount_drift", ids[0]),
        ("amount_drift", ids[1]),
    ]
    assert drift[0][2].startswith("mart ")
    # ids[0]: the ERP holds a document the outbox no longer calls sent; ids[1]: explained.
    assert [(issue, invoice) for issue, invoice, _ in queued] == [
        ("amount_drift", ids[0]),
        ("unbilled_change", ids[1]),
    ]


def test_missing_duplicated_and_mismatched_invoices_are_each_reported(sandbox, prefix, mart):
    ids = add_pending(prefix, erp_get(sandbox, "customers"), 4)
    post_invoices()
    lines = mart()
    documents = erp_get(sandbox, "invoices")
    # A second ERP document for ids[0] under a foreign key: a double billing.
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

    issues = _issues(documents, prefix, lines)

    assert [(issue, invoice) for issue, invoice, _detail in issues] == [
        ("amount_drift", ids[1]),  # the ERP lost it: its net is 0
        ("amount_drift", ids[2]),  # we say we sent one more than the ERP holds
        ("duplicated_at_erp", ids[0]),
        ("missing_at_erp", ids[1]),
    ]
    assert "2 ERP documents for external id" in issues[2][2]


def test_reconcile_fails_the_run_when_anything_disagrees(sandbox, prefix):
    ids = add_pending(prefix, erp_get(sandbox, "customers"), 2)
    post_invoices()
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.billing_outbox set idempotency_key = idempotency_key || 'x'"
            " where invoice_id = %s",
            (ids[0],),
        )

    with pytest.raises(ReconciliationFailed, match=r"missing_at_erp, 1 orphan_at_erp"):
        reconcile("test-run")

    with warehouse.connect() as conn:
        found = conn.execute(
            "select issue from ops.reconciliation where run_id = 'test-run' and invoice_id = %s"
            " order by issue",
            (ids[0],),
        ).fetchall()
    # Our row under a key the ERP never saw, and the ERP's document under a key we lost.
    # (Its net at the ERP is 0 under any key we know: drift too.)
    assert found == [("amount_drift",), ("missing_at_erp",), ("orphan_at_erp",)]
