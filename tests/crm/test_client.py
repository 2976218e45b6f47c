"""The CRM client against the sandbox CRM over HTTP: client credentials, and batches paced to the
CRM's rate limit so that it never answers 429."""

from __future__ import annotations

import httpx
import pytest

from waybill.connections import _from_environment
from waybill.crm.client import CrmClient, CrmError, sandbox_crm_connection
from waybill_sandbox.server import running_sandbox

LIMIT = 50


def _client(base: str, monkeypatch, **kwargs) -> CrmClient:
    for name, value in sandbox_crm_connection(base, **kwargs).items():
        monkeypatch.setenv(name, value)
    return CrmClient(_from_environment("crm_api"))


def _statuses(prefix: str, n: int) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{k}",
            "order_number": f"{prefix}-{k}",
            "customer_id": "C0001",
            "status": "In Transit",
        }
        for k in range(n)
    ]


def test_batches_are_paced_to_the_limit_and_never_throttled(monkeypatch):
    with running_sandbox(seed=7, shipments=60, crm_rate_limit=LIMIT) as base:
        client = _client(base, monkeypatch, rate_limit_per_s=LIMIT)
        client.authenticate()
        assert client.batch_size == LIMIT
        for batch in range(4):
            results = client.upsert("ShipmentStatus", _statuses(f"SO-{batch}", LIMIT))
            assert all(r["success"] for r in results)
        token = client.http.session.headers["Authorization"]
        counters = httpx.get(f"{base}/crm/limits", headers={"Authorization": token}).json()
    # Unpaced, the second batch would find the bucket empty: a 429, counted as throttled.
    assert counters["counters"].get("throttled", 0) == 0
    assert counters["counters"]["writes_accepted"] == 4 * LIMIT


def test_wrong_client_secret_is_refused_naming_the_token_endpoint(monkeypatch):
    with running_sandbox(seed=7, shipments=60) as base:
        client = _client(base, monkeypatch, client_secret="wrong")
        with pytest.raises(CrmError) as refused:
            client.authenticate()
    assert "token endpoint answered 401" in str(refused.value)
