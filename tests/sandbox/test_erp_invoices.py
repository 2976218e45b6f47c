"""The ERP invoice API over real HTTP: auth, validation, idempotency, rate limit."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS
from waybill_sandbox.server import running_sandbox


def _invoice(number: str = "INV-0001", customer: str = "C0001", total: str = "150.25") -> dict:
    return {
        "invoice_number": number,
        "customer_id": customer,
        "currency": "USD",
        "invoice_date": "2025-01-20",
        "total_amount": total,
        "lines": [
            {
                "line_number": 1,
                "shipment_reference": "SO-1000001",
                "charge_code": "LINEHAUL",
                "description": "Linehaul",
                "amount": "130.00",
            },
            {
                "line_number": 2,
                "shipment_reference": "SO-1000001",
                "charge_code": "FUEL",
                "description": "Fuel surcharge",
                "amount": "20.25",
            },
        ],
    }


def _post(
    base: str, body: object, key: str | None = "key-1", token: str | None = "sandbox-erp-token"
):
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(f"{base}/erp/invoices", json=body, headers=headers)


def test_missing_or_invalid_token_is_401(sandbox_url):
    assert _post(sandbox_url, _invoice(), token=None).status_code == 401
    assert _post(sandbox_url, _invoice(), token="nope").status_code == 401
    assert httpx.get(f"{sandbox_url}/erp/orders").status_code == 401


def test_readonly_token_reads_but_cannot_post(sandbox_url):
    assert (
        httpx.get(
            f"{sandbox_url}/erp/orders", headers={"Authorization": "Bearer sandbox-readonly-token"}
        ).status_code
        == 200
    )
    response = _post(sandbox_url, _invoice(), token="sandbox-readonly-token")
    assert response.status_code == 403
    assert "invoices:write" in response.json()["detail"]


def test_missing_idempotency_key_is_422(sandbox_url):
    response = _post(sandbox_url, _invoice(), key=None)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda b: b.pop("invoice_number"), ["body", "invoice_number"]),
        (lambda b: b.update(total_amount="150.2"), ["body", "total_amount"]),
        (lambda b: b.update(total_amount="999.99"), ["body", "total_amount"]),
        (lambda b: b.update(invoice_date="2025-13-01"), ["body", "invoice_date"]),
        (lambda b: b.update(currency="CAD"), ["body", "currency"]),
        (lambda b: b.update(customer_id="C9999"), ["body", "customer_id"]),
        (lambda b: b["lines"][1].update(amount=20.25), ["body", "lines", 1, "amount"]),
        (
            lambda b: b["lines"][0].pop("shipment_reference"),
            ["body", "lines", 0, "shipment_reference"],
        ),
        (lambda b: b.update(lines=[]), ["body", "lines"]),
    ],
)
def test_invalid_bodies_get_field_errors(sandbox_url, mutate, loc):
    body = _invoice()
    mutate(body)
    response = _post(sandbox_url, body, key=f"invalid-{loc}")
    assert response.status_code == 422
    assert loc in [e["loc"] for e in response.json()["detail"]]


def test_same_key_same_body_is_one_document_and_different_body_is_409():
    with running_sandbox(seed=3, shipments=10) as base:
        first = _post(base, _invoice("INV-7"), key="idem-7")
        again = _post(base, _invoice("INV-7"), key="idem-7")
        clash = _post(
            base,
            _invoice("INV-7", total="130.00") | {"lines": _invoice()["lines"][:1]},
            key="idem-7",
        )
        other = _post(base, _invoice("INV-8"), key="idem-8")
        received = httpx.get(f"{base}/erp/invoices", headers=ERP_HEADERS).json()
    assert (first.status_code, again.status_code, clash.status_code, other.status_code) == (
        201,
        200,
        409,
        201,
    )
    assert first.json() == again.json()
    assert first.json()["document_number"] == "ERP-INV-000001"
    assert other.json()["document_number"] == "ERP-INV-000002"
    assert [(r["idempotency_key"], r["times_posted"]) for r in received] == [
        ("idem-7", 2),
        ("idem-8", 1),
    ]
    assert len(received[0]["body_sha256"]) == 64


def test_rate_limit_answers_429_with_retry_after():
    with running_sandbox(seed=3, shipments=10, erp_rate_limit=2) as base:
        statuses = [_post(base, _invoice(f"INV-{n}"), key=f"rl-{n}") for n in range(6)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
