"""ERP documents over real HTTP: invoices looked up by external_id, credit notes (idempotent,
checked against their original), disputes against live invoices, and the ERP's own ledger."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.timefmt import iso_utc
from waybill_sandbox.world import World, money

HOUR = 3600


def invoice(
    number: str, customer: str = "C0001", amount: str = "100.00", ship: str = "SO-1000001"
) -> dict:
    return {
        "invoice_number": number,
        "customer_id": customer,
        "currency": "USD",
        "invoice_date": "2025-01-20",
        "total_amount": amount,
        "lines": [
            {
                "line_number": 1,
                "shipment_reference": ship,
                "charge_code": "LINEHAUL",
                "description": "Linehaul",
                "amount": amount,
            }
        ],
    }


def credit_note(number: str, original: str, amount: str = "40.00", **extra) -> dict:
    return {
        "credit_note_number": number,
        "original_document_id": original,
        "customer_id": "C0001",
        "currency": "USD",
        "credit_date": "2025-01-21",
        "reason_code": "rate_correction",
        "total_amount": amount,
        "lines": [
            {
                "line_number": 1,
                "shipment_reference": "SO-1000001",
                "charge_code": "LINEHAUL",
                "description": "Linehaul correction",
                "amount": amount,
            }
        ],
        **extra,
    }


def post(base: str, path: str, body: dict, key: str, token: str = "sandbox-erp-token"):
    return httpx.post(
        f"{base}/erp/{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


def get(base: str, path: str, **params):
    return httpx.get(f"{base}/erp/{path}", params=params, headers=ERP_HEADERS)


@pytest.fixture
def ledger_sandbox(tmp_path):
    ledger = tmp_path / "erp_ledger.jsonl"
    with running_sandbox(seed=7, shipments=30, ledger=ledger) as base:
        yield base, ledger


def test_invoices_carry_external_id_kind_shipments_and_accepted_at(ledger_sandbox):
    base, _ = ledger_sandbox
    world = World(7, 30)
    assert post(base, "invoices", invoice("INV-1"), "k1").status_code == 201
    body = {**invoice("INV-2", ship="SO-1000002"), "external_id": "wb-2"}
    body["lines"].append({**body["lines"][0], "line_number": 2, "shipment_reference": "SO-1000003"})
    body["total_amount"] = "200.00"
    receipt = post(base, "invoices", body, "k2").json()
    assert receipt["external_id"] == "wb-2"
    listed = get(base, "invoices").json()
    assert [(r["external_id"], r["kind"], r["shipment_ids"]) for r in listed] == [
        ("INV-1", "invoice", ["SO-1000001"]),
        ("wb-2", "invoice", ["SO-1000002", "SO-1000003"]),
    ]
    assert {r["accepted_at"] for r in listed} == {iso_utc(world.as_of)}
    assert [r["document_number"] for r in get(base, "invoices", external_id="wb-2").json()] == [
        receipt["document_number"]
    ]
    assert get(base, "invoices", external_id="never-posted").json() == []


def test_credit_notes_are_idempotent_and_checked_against_the_original(ledger_sandbox):
    base, _ = ledger_sandbox
    inv = post(base, "invoices", invoice("INV-1"), "inv-1").json()["document_number"]
    first = post(base, "credit-notes", credit_note("CN-1", inv), "cn-1")
    assert first.status_code == 201
    assert first.json()["document_number"] == "ERP-CN-000001"
    assert first.json()["original_document_id"] == inv
    replay = post(base, "credit-notes", credit_note("CN-1", inv), "cn-1")
    assert (replay.status_code, replay.json()) == (200, first.json())
    assert post(base, "credit-notes", credit_note("CN-1", inv, "41.00"), "cn-1").status_code == 409
    # A key names one document: an invoice's key cannot be reused for a credit note.
    assert post(base, "credit-notes", credit_note("CN-9", inv), "inv-1").status_code == 409
    readonly = post(
        base, "credit-notes", credit_note("CN-2", inv), "cn-2", "sandbox-readonly-token"
    )
    assert readonly.status_code == 403

    def rejected(body: dict, key: str) -> list:
        response = post(base, "credit-notes", body, key)
        assert response.status_code == 422, response.text
        return [tuple(e["loc"][1:]) for e in response.json()["detail"]]

    # 100.00 billed, 40.00 credited: 60.01 is more than the open balance.
    over = rejected(credit_note("CN-3", inv, "60.01"), "cn-3")
    assert over == [("total_amount",)]
    assert rejected(credit_note("CN-4", "ERP-INV-999999"), "cn-4") == [("original_document_id",)]
    assert rejected(credit_note("CN-5", "ERP-CN-000001"), "cn-5") == [("original_document_id",)]
    # CAD is neither the customer's nor the original's currency: both are said.
    assert set(rejected(credit_note("CN-6", inv, currency="CAD"), "cn-6")) == {("currency",)}
    assert ("total_amount",) in rejected(credit_note("CN-7", inv, "-5.00"), "cn-7")
    assert post(base, "credit-notes", credit_note("CN-8", inv, "60.00"), "cn-8").status_code == 201
    assert rejected(credit_note("CN-10", inv, "0.01"), "cn-10") == [("total_amount",)]
    listed = get(base, "credit-notes").json()
    assert [(c["external_id"], c["total_amount"]) for c in listed] == [
        ("CN-1", "40.00"),
        ("CN-8", "60.00"),
    ]
    assert len(get(base, "credit-notes", external_id="CN-8").json()) == 1


def test_the_ledger_has_one_line_per_accepted_document(ledger_sandbox):
    base, ledger = ledger_sandbox
    inv = post(base, "invoices", invoice("INV-1"), "a").json()["document_number"]
    post(base, "invoices", invoice("INV-1"), "a")  # a replay: no new line
    post(base, "invoices", invoice("INV-1", amount="1.00"), "a")  # 409: no line
    post(base, "credit-notes", credit_note("CN-1", inv, dispute_id="DSP-000001"), "b")
    post(base, "credit-notes", credit_note("CN-2", inv, "99.00"), "c")  # 422: no line
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    at = iso_utc(World(7, 30).as_of)
    assert lines == [
        {
            "document_id": inv,
            "kind": "invoice",
            "external_id": "INV-1",
            "original_document_id": None,
            "amount": "100.00",
            "currency": "USD",
            "idempotency_key": "a",
            "shipment_ids": ["SO-1000001"],
            "accepted_at": at,
        },
        {
            "document_id": "ERP-CN-000001",
            "kind": "credit_note",
            "external_id": "CN-1",
            "original_document_id": inv,
            "amount": "40.00",
            "currency": "USD",
            "idempotency_key": "b",
            "shipment_ids": ["SO-1000001"],
            "accepted_at": at,
        },
    ]


def test_disputes_are_raised_only_against_live_invoices_and_resolve_over_time():
    world = World(5, 300, changes=0.5)
    plans = sorted(
        (s.dispute.raise_at, s.index) for s in world.iter_shipments() if s.dispute is not None
    )
    assert len(plans) >= 6
    expected: dict[str, tuple] = {}
    skipped = []
    with running_sandbox(seed=5, shipments=300, changes=0.5, clock="START") as base:
        clock = world.start_epoch
        for n, (raise_at, i) in enumerate(plans):
            s = world.shipment(i)
            if raise_at - HOUR < clock or n % 3 == 2:
                skipped.append(s.order_number)  # never invoiced: nothing to dispute
                continue
            clock = raise_at - HOUR
            httpx.post(
                f"{base}/admin/clock", json={"to": iso_utc(clock)}, headers=ERP_HEADERS
            ).raise_for_status()
            body = {**invoice(f"INV-{i}", s.customer.customer_id, "200.00", s.order_number)}
            body["currency"] = s.customer.currency
            doc = post(base, "invoices", body, f"inv-{i}").json()["document_number"]
            if n % 3 == 1:  # fully credited before the raise time: no longer live
                cn = {
                    **credit_note(f"CN-{i}", doc, "200.00"),
                    "customer_id": s.customer.customer_id,
                    "currency": s.customer.currency,
                }
                assert post(base, "credit-notes", cn, f"cn-{i}").status_code == 201
                skipped.append(s.order_number)
                continue
            expected[s.order_number] = (doc, money((20000 * s.dispute.pct + 50) // 100), s)
        assert expected and skipped
        last_raise = max(clock + HOUR, *(expected[o][2].dispute.raise_at for o in expected))
        httpx.post(
            f"{base}/admin/clock", json={"to": iso_utc(last_raise)}, headers=ERP_HEADERS
        ).raise_for_status()
        raised = get(base, "disputes", limit=1000).json()["data"]
        by_order = {d["shipment_ids"][0]: d for d in raised}
        assert set(by_order) == set(expected)
        for order, (doc, amount, s) in expected.items():
            d = by_order[order]
            assert (d["document_number"], d["disputed_amount"], d["reason_code"]) == (
                doc,
                amount,
                s.dispute.reason,
            )
            resolved = s.dispute.resolve_at is not None and s.dispute.resolve_at <= last_raise
            assert d["status"] == (s.dispute.outcome if resolved else "open")
        httpx.post(
            f"{base}/admin/clock", json={"advance_hours": 10_000}, headers=ERP_HEADERS
        ).raise_for_status()
        final = get(base, "disputes", limit=2).json()
        seen = final["data"]
        while final["next_cursor"]:
            final = get(base, "disputes", limit=2, cursor=final["next_cursor"]).json()
            seen += final["data"]
        assert sorted(d["dispute_id"] for d in seen) == sorted(d["dispute_id"] for d in raised)
        for d in seen:
            plan = expected[d["shipment_ids"][0]][2].dispute
            if plan.resolve_at is None:
                assert (d["status"], d["resolved_at"]) == ("open", None)
            else:
                assert d["status"] == plan.outcome
                assert d["updated_at"] == d["resolved_at"] != d["raised_at"]
