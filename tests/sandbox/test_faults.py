"""Faults on demand: deterministic, listed in the truth, and always recoverable by retrying."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS, check_envelope, truth_of
from waybill_sandbox.faults import FaultConfig
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.world import World
from waybill_sandbox.x12 import iter_x12_files


def _get_with_retries(
    url: str, params: dict, headers: dict | None = None
) -> tuple[httpx.Response, list[int]]:
    seen = []
    for _ in range(10):
        response = httpx.get(url, params=params, headers=headers)
        seen.append(response.status_code)
        if response.status_code == 200:
            return response, seen
    raise AssertionError(f"{url} never succeeded: {seen}")


def test_429_carries_retry_after_and_retrying_succeeds():
    faults = FaultConfig.parse("erp=1.0", kinds=("429",))
    with running_sandbox(seed=5, shipments=20, faults=faults) as base:
        first = httpx.get(f"{base}/erp/orders", headers=ERP_HEADERS)
        response, seen = _get_with_retries(f"{base}/erp/orders", {}, ERP_HEADERS)
        untouched = httpx.get(f"{base}/tms/shipments")
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert seen == [429, 200]
    assert len(response.json()["data"]) == 20
    assert untouched.status_code == 200


def test_paging_with_request_faults_still_returns_every_record():
    faults = FaultConfig.parse(0.5, kinds=("429", "500", "503"))
    truth = truth_of(5, 60)
    statuses: list[int] = []
    with running_sandbox(seed=5, shipments=60, faults=faults) as base:
        offset, total, rows = 0, None, []
        while total is None or offset < total:
            response, seen = _get_with_retries(
                f"{base}/tms/rated-charges", {"offset": offset, "limit": 25}
            )
            statuses += seen
            body = response.json()
            total = body["total"]
            rows += body["results"]
            offset += 25
    assert len(rows) == truth["record_counts"]["tms.rated_charges"]
    assert set(statuses) - {200}, "faults at rate 0.5 produced no error at all"


def test_request_faults_are_deterministic_for_a_seed():
    config = FaultConfig.parse(0.3)
    kinds = [config.request_fault(11, "wms", f"GET /wms/x?page={n}", 0) for n in range(200)]
    assert kinds == [config.request_fault(11, "wms", f"GET /wms/x?page={n}", 0) for n in range(200)]
    assert kinds != [config.request_fault(12, "wms", f"GET /wms/x?page={n}", 0) for n in range(200)]
    assert all(
        config.request_fault(11, "wms", f"GET /wms/x?page={n}", 2) is None for n in range(200)
    )


def test_malformed_records_are_exactly_those_in_the_truth():
    faults = FaultConfig.parse(0.6, kinds=("malformed",))
    truth = truth_of(9, 80, faults)
    listed = {m["record"] for m in truth["malformed"] if m["system"] == "erp"}
    with running_sandbox(seed=9, shipments=80, faults=faults) as base:
        data = httpx.get(f"{base}/erp/orders", params={"limit": 1000}, headers=ERP_HEADERS).json()[
            "data"
        ]
        events = httpx.get(f"{base}/carriers/parcelco/events", params={"limit": 500}).json()[
            "events"
        ]
    broken = [r for r in data if isinstance(r, str)]
    assert broken, "rate 0.6 produced no malformed order"
    assert {
        "orders/" + r.split('"order_number":"', 1)[1].split('"', 1)[0] for r in broken
    } == listed
    bad_events = [e for e in events if isinstance(e, str)]
    listed_events = [m for m in truth["malformed"] if m["record"].startswith("parcelco/events/")]
    assert len(bad_events) == len(listed_events)


def test_truncated_x12_files_are_listed_and_fail_the_envelope_check():
    faults = FaultConfig.parse("carriers=0.5", kinds=("truncated",))
    files = list(iter_x12_files(World(4, 300), faults))
    truncated = [f for f in files if f.truncated]
    truth = truth_of(4, 300, faults)
    assert truncated and len(truncated) < len(files)
    assert sorted(truth["truncated_files"]) == sorted(
        f"ridgeline/{f.kind}/{f.name}" for f in truncated
    )
    for f in truncated:
        with pytest.raises((AssertionError, IndexError, ValueError, UnicodeDecodeError)):
            check_envelope(f.content)
    for f in files:
        if not f.truncated:
            check_envelope(f.content)


@pytest.mark.parametrize("spec", ["erp=2", "bogus=0.1", "x", "erp=abc"])
def test_bad_fault_specs_are_rejected_with_a_reason(spec):
    with pytest.raises(ValueError, match="--faults"):
        FaultConfig.parse(spec)
