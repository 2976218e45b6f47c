"""The sandbox CRM over real HTTP: OAuth client credentials, upsert by external id, bulk,
optimistic versions (409), field validation (422 naming the field), the rate limit (429 +
Retry-After), agents resolving cases as the clock moves, contacts, and the ledger."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS, truth_of
from waybill_sandbox.crm import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, resolution
from waybill_sandbox.crm_world import EXCEPTIONS, STATUSES, contacts_of
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.timefmt import parse_iso
from waybill_sandbox.world import World

SEED, SHIPMENTS = 7, 60


def _token(base: str) -> dict:
    response = httpx.post(
        f"{base}/crm/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def _case(order: str = "SO-1000001", **overrides) -> dict:
    return {
        "order_number": order,
        "type": "Delay",
        "status": "New",
        "priority": "High",
        "subject": "Delivery is late",
        "sla_due_at": "2025-01-20T00:00:00Z",
        **overrides,
    }


@pytest.fixture
def crm(tmp_path):
    ledger = tmp_path / "crm_ledger.jsonl"
    with running_sandbox(seed=SEED, shipments=SHIPMENTS, clock="START", crm_ledger=ledger) as base:
        token = _token(base)
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        yield base, headers, ledger


def test_token_needs_client_credentials_and_calls_need_a_token(crm):
    base, headers, _ = crm
    bad = httpx.post(
        f"{base}/crm/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "waybill", "client_secret": "no"},
    )
    assert bad.status_code == 401
    assert bad.json()["errors"][0]["field"] == "client_secret"
    assert httpx.get(f"{base}/crm/cases").status_code == 401
    assert (
        httpx.get(f"{base}/crm/cases", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert httpx.get(f"{base}/crm/cases", headers=headers).status_code == 200


def test_upsert_creates_updates_once_and_ledger_records_each_accepted_write(crm):
    base, headers, ledger = crm
    url = f"{base}/crm/sobjects/Case/external/SO-1000001:delay"
    first = httpx.patch(url, json=_case(), headers=headers)
    assert first.status_code == 201
    assert first.json()["version"] == 1
    same = httpx.patch(url, json=_case(), headers=headers)
    assert same.status_code == 200
    assert same.json()["changed"] is False
    changed = httpx.patch(url, json=_case(status="Exception Cleared"), headers=headers)
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [(x["external_id"], x["operation"], x["version"]) for x in lines] == [
        ("SO-1000001:delay", "created", 1),
        ("SO-1000001:delay", "updated", 2),
    ]
    assert lines[1]["changed"] == {"status": "Exception Cleared"}


def test_version_conflict_is_409_and_bad_field_is_422_naming_it(crm):
    base, headers, _ = crm
    url = f"{base}/crm/sobjects/Case/external/SO-1000002:damage"
    assert (
        httpx.patch(url, json=_case("SO-1000002", type="Damage"), headers=headers).status_code
        == 201
    )
    stale = httpx.patch(
        url,
        json=_case("SO-1000002", type="Damage", priority="Low"),
        headers={**headers, "If-Match": '"0"'},
    )
    assert stale.status_code == 409
    assert "version 1" in stale.json()["errors"][0]["message"]
    fresh = httpx.patch(
        url,
        json=_case("SO-1000002", type="Damage", priority="Low"),
        headers={**headers, "If-Match": '"1"'},
    )
    assert fresh.status_code == 200
    bad = httpx.patch(url, json=_case("SO-1000002", type="Sunburn"), headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "type"
    missing = httpx.patch(
        f"{base}/crm/sobjects/ShipmentStatus/external/SO-1000002",
        json={"order_number": "SO-1000002", "status": "Delivered"},
        headers=headers,
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "customer_id"


def test_bulk_answers_each_record_and_only_good_ones_land(crm):
    base, headers, _ = crm
    records = [
        {
            "external_id": "SO-1000003",
            "order_number": "SO-1000003",
            "customer_id": "C0001",
            "status": "In Transit",
        },
        {
            "external_id": "SO-1000004",
            "order_number": "SO-1000004",
            "customer_id": "C0002",
            "status": "Teleported",
        },
    ]
    response = httpx.post(
        f"{base}/crm/composite/sobjects/ShipmentStatus", json={"records": records}, headers=headers
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["success"], r["status_code"]) for r in results] == [(True, 201), (False, 422)]
    assert results[1]["errors"][0]["field"] == "status"
    read = httpx.get(f"{base}/crm/sobjects/ShipmentStatus/external/SO-1000003", headers=headers)
    assert read.json()["status"] == "In Transit"
    gone = httpx.get(f"{base}/crm/sobjects/ShipmentStatus/external/SO-1000004", headers=headers)
    assert gone.status_code == 404


def test_rate_limit_answers_429_with_retry_after():
    def bulk(base, headers, first: int):
        records = [
            {"external_id": f"SO-{first + n}:delay", **_case(f"SO-{first + n}")} for n in range(5)
        ]
        return httpx.post(
            f"{base}/crm/composite/sobjects/Case", json={"records": records}, headers=headers
        )

    with running_sandbox(seed=SEED, shipments=SHIPMENTS, crm_rate_limit=5) as base:
        headers = {"Authorization": f"Bearer {_token(base)['access_token']}"}
        first = bulk(base, headers, 100)  # five records: the bucket's whole second
        second = bulk(base, headers, 200)
        time.sleep(1.2)
        third = bulk(base, headers, 200)
        counters = httpx.get(f"{base}/crm/limits", headers=headers).json()["counters"]
    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1
    assert third.status_code == 200
    assert counters["writes_accepted"] == 10
    assert counters["throttled"] == 1


def test_agents_resolve_cases_when_the_clock_passes_their_time(crm):
    base, headers, _ = crm
    httpx.patch(
        f"{base}/crm/sobjects/Case/external/SO-1000005:loss",
        json=_case("SO-1000005", type="Loss"),
        headers=headers,
    )
    (case,) = httpx.get(f"{base}/crm/cases", headers=headers).json()["data"]
    assert case["resolved_at"] is None
    assert case["status"] == "New"
    opened = parse_iso(case["created_at"])
    httpx.post(f"{base}/admin/clock", json={"advance_hours": 80}, headers=ERP_HEADERS)
    (case,) = httpx.get(f"{base}/crm/cases", headers=headers).json()["data"]
    assert case["status"] == "Closed"
    assert case["resolution_code"] in ("claim_filed", "refund_issued")
    assert case["resolved_by"].startswith("agent-")
    hours = (parse_iso(case["resolved_at"]) - opened) / 3600
    assert 4 <= hours <= 72
    assert case["updated_at"] == case["resolved_at"]
    since = httpx.get(
        f"{base}/crm/cases", params={"updated_since": case["resolved_at"]}, headers=headers
    ).json()["data"]
    assert [c["external_id"] for c in since] == ["SO-1000005:loss"]


def test_resolution_is_a_function_of_the_case():
    from waybill_sandbox.crm import CrmRecord

    a = CrmRecord("Case", "SO-1:delay", {"type": "Delay"}, 1, 1000, 1000)
    b = CrmRecord("Case", "SO-1:delay", {"type": "Delay"}, 3, 1000, 5000)
    assert resolution(a) == resolution(b)
    assert resolution(a) != resolution(
        CrmRecord("Case", "SO-2:delay", {"type": "Delay"}, 1, 1000, 1000)
    )


def test_contacts_appear_with_the_clock_and_come_from_the_world():
    world = World(SEED, 300)
    every = [c for s in world.iter_shipments() for c in contacts_of(SEED, s)]
    expected = sorted(c["contact_id"] for c in every if c["contacted_at"] <= world.as_of)
    assert len(expected) >= 3  # the world has some customers asking by its horizon
    with running_sandbox(seed=SEED, shipments=300, clock="START") as base:
        headers = {"Authorization": f"Bearer {_token(base)['access_token']}"}
        before = httpx.get(f"{base}/crm/contacts", params={"limit": 1000}, headers=headers).json()
        httpx.post(f"{base}/admin/clock", json={"to": "2030-01-01T00:00:00Z"}, headers=ERP_HEADERS)
        seen, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            body = httpx.get(f"{base}/crm/contacts", params=params, headers=headers).json()
            seen += [c["contact_id"] for c in body["data"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
    assert before["data"] == []
    assert sorted(seen) == expected
    assert len(seen) == len(set(seen))


def test_truth_lists_cases_and_customer_status_per_shipment():
    truth = truth_of(SEED, 200)
    shipments = truth["shipments"]
    assert {s["customer_status"] for s in shipments} <= set(STATUSES)
    cases = [c for s in shipments for c in s["crm_cases"]]
    assert len({c["external_id"] for c in cases}) == len(cases) == truth["crm"]["cases"]
    assert {c["exception"] for c in cases} <= set(EXCEPTIONS)
    for s in shipments:
        names = {c["exception"] for c in s["crm_cases"]}
        if s["delivered_at"] is not None:
            assert s["customer_status"] == "delivered"
            if (
                "missing_pod" in s["hold_reasons"]
                and parse_iso(s["delivered_at"]) <= parse_iso(truth["as_of"]) - 48 * 3600
            ):
                assert "missing_pod" in names, s["order_number"]
            held = set(s["hold_reasons"]) & {"credit_hold", "charge_out_of_contract", "cancelled"}
            assert ("billing_hold" in names) == bool(held), s["order_number"]
            assert ("delay" in names) == (s["is_on_time"] is False), s["order_number"]
        if s["delivered_at"] is None and parse_iso(s["promised_delivery_at"]) < parse_iso(
            truth["as_of"]
        ):
            assert "delay" in names, s["order_number"]  # lost ones too: no carrier reports a loss
