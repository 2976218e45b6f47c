"""The poster against the sandbox ERP: idempotent keys, 4xx/409 handling, faults, rate limits."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.billing.conftest import erp_get, erp_sandbox
from tests.billing.outbox_rows import add_pending, statuses
from waybill import warehouse
from waybill.billing.poster import workers_for
from waybill.billing.run import post_invoices


@pytest.fixture
def prefix(outbox_cleanup):
    value = f"INV-P{uuid.uuid4().hex[:8]}-"
    outbox_cleanup.append(value)
    return value


def _documents_per_invoice(base_url: str, prefix: str) -> Counter:
    return Counter(
        doc["invoice_number"]
        for doc in erp_get(base_url, "invoices")
        if doc["invoice_number"].startswith(prefix)
    )


def test_posts_each_invoice_once_and_records_the_document(sandbox, prefix):
    customers = erp_get(sandbox, "customers")
    ids = add_pending(prefix, customers, 12)

    summary = post_invoices()
    again = post_invoices()

    assert (summary["posted"], summary["failed"], again["posted"]) == (12, 0, 0)
    found = statuses(prefix)
    assert {status for status, *_ in found.values()} == {"posted"}
    assert all(doc.startswith("ERP-INV-") for _s, doc, *_ in found.values())
    assert _documents_per_invoice(sandbox, prefix) == Counter({i: 1 for i in ids})


def test_a_rejected_invoice_fails_with_the_erp_message_and_is_not_resent(sandbox, prefix):
    customers = erp_get(sandbox, "customers")
    wrong = [{"customer_id": customers[0]["customer_id"], "currency": "MXN"}]
    (invoice_id,) = add_pending(prefix, wrong, 1)

    first = post_invoices()
    second = post_invoices()

    assert (first["failed"], second["failed"]) == (1, 0)
    status, document, attempts, error = statuses(prefix)[invoice_id]
    assert (status, document, attempts) == ("failed", None, 1)
    assert error.startswith(f"ERP answered 422 for {invoice_id}")
    assert "currency" in error


def test_a_409_marks_the_invoice_conflicting_with_the_erp_document(sandbox, prefix):
    customers = erp_get(sandbox, "customers")
    (invoice_id,) = add_pending(prefix, customers, 1)
    post_invoices()
    with warehouse.connect(autocommit=True) as conn:
        # Same key, another body: what a hand-edited outbox row would send.
        conn.execute(
            "update ops.billing_outbox set status = 'pending',"
            " body = jsonb_set(body, '{invoice_date}', '\"2025-02-01\"') where invoice_id = %s",
            (invoice_id,),
        )

    summary = post_invoices()

    assert summary["conflict"] == 1
    status, document, _attempts, error = statuses(prefix)[invoice_id]
    assert status == "conflict"
    assert document == erp_get(sandbox, "invoices")[-1]["document_number"]
    assert "ERP answered 409" in error
    assert _documents_per_invoice(sandbox, prefix) == Counter({invoice_id: 1})


def test_erp_429s_and_500s_delay_but_never_duplicate(monkeypatch, prefix):
    from waybill_sandbox.faults import FaultConfig

    faults = FaultConfig.parse("erp=0.6", kinds=("429", "500", "503"))
    with erp_sandbox(monkeypatch, faults=faults) as base_url:
        customers = erp_get(base_url, "customers")
        ids = add_pending(prefix, customers, 10)
        summary = post_invoices()
        assert (summary["posted"], summary["unavailable"]) == (10, 0)
        assert _documents_per_invoice(base_url, prefix) == Counter({i: 1 for i in ids})


def test_an_erp_limit_below_the_configured_one_only_slows_posting(monkeypatch, prefix):
    # sources.yaml says 50/s; this ERP allows 20/s and answers the rest 429 + Retry-After.
    with erp_sandbox(monkeypatch, erp_rate_limit=20) as base_url:
        customers = erp_get(base_url, "customers")
        ids = add_pending(prefix, customers, 30)
        summary = post_invoices()
        assert (summary["posted"], summary["failed"], summary["unavailable"]) == (30, 0, 0)
        assert _documents_per_invoice(base_url, prefix) == Counter({i: 1 for i in ids})


def test_workers_cover_the_rate_limit_latency():
    assert workers_for(50, 1000) == 13
    assert workers_for(50, 3) == 3
    assert workers_for(0, 1000) == 4
    assert workers_for(10_000, 10_000) == 32
