"""Carrier webhooks: events pushed to a subscriber URL, each signed over time, event id and body.

Deliveries are an admin call (the ERP's full-scope token) and go to loopback only (or allowed
host names).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tests.sandbox.helpers import SEED, SHIPMENTS
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    sign,
    target_error,
    verify,
)

ADMIN = "test-sandbox-erp-token"  # full scope: the admin credential
SECRETS = {"parcelco": "parcelco-test-secret", "swiftex": "swiftex-test-secret"}
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def admin_sandbox_url():
    with running_sandbox(
        seed=SEED, shipments=SHIPMENTS, erp_token=ADMIN, webhook_secrets=SECRETS
    ) as base_url:
        yield base_url


@pytest.fixture
def receiver():
    received: list[tuple[bytes, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, dict(self.headers)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    thread.join()


def test_pushed_events_are_signed_and_follow_the_feed(admin_sandbox_url, receiver, truth):
    url, received = receiver
    result = (
        httpx.post(
            f"{admin_sandbox_url}/carriers/parcelco/webhooks/deliveries",
            json={"url": url, "limit": 15},
            headers=AUTH,
            timeout=30,
        )
        .raise_for_status()
        .json()
    )
    assert result["attempted"] == result["delivered"] == 15
    assert len(received) == 15
    parcel_numbers = {
        s["tracking_number"] for s in truth["shipments"] if s["carrier_code"] == "parcelco"
    }
    for body, headers in received:
        event_id = headers[EVENT_ID_HEADER]
        assert verify(body, headers[SIGNATURE_HEADER], SECRETS["parcelco"], event_id)
        assert not verify(body, headers[SIGNATURE_HEADER], SECRETS["swiftex"], event_id)
        assert not verify(body, headers[SIGNATURE_HEADER], SECRETS["parcelco"], event_id + "x")
        event = json.loads(body)
        assert event["trackingNumber"] in parcel_numbers
        assert {"type", "code", "description"} <= set(event["activityStatus"])


def test_unreachable_subscriber_is_reported_not_raised(admin_sandbox_url):
    result = httpx.post(
        f"{admin_sandbox_url}/carriers/swiftex/webhooks/deliveries",
        json={"url": "http://127.0.0.1:9/nowhere", "limit": 2},
        headers=AUTH,
        timeout=30,
    ).json()
    assert result["delivered"] == 0 and len(result["failed"]) == 2


def test_deliveries_need_the_admin_token(admin_sandbox_url, receiver):
    url, received = receiver
    push = f"{admin_sandbox_url}/carriers/parcelco/webhooks/deliveries"
    anonymous = httpx.post(push, json={"url": url, "limit": 1}, timeout=30)
    wrong = httpx.post(
        push, json={"url": url}, headers={"Authorization": "Bearer nope"}, timeout=30
    )
    read_only = httpx.post(
        push,
        json={"url": url},
        headers={"Authorization": "Bearer sandbox-readonly-token"},
        timeout=30,
    )
    assert anonymous.status_code == wrong.status_code == read_only.status_code == 401
    assert received == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/hook",
        "http://example.com/hook",
        "http://127.0.0.1.nip.io/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ],
)
def test_deliveries_go_to_loopback_only(admin_sandbox_url, url):
    response = httpx.post(
        f"{admin_sandbox_url}/carriers/parcelco/webhooks/deliveries",
        json={"url": url, "limit": 1},
        headers=AUTH,
        timeout=30,
    )
    assert response.status_code == 400 and "will not deliver" in response.text


def test_target_check_allows_loopback_and_named_hosts():
    assert target_error("http://127.0.0.1:8090/webhooks/parcelco") is None
    assert target_error("http://[::1]:8090/x") is None
    assert target_error("http://localhost/x") is None
    assert target_error("http://webhooks:8090/x", frozenset({"webhooks"})) is None
    assert target_error("http://webhooks:8090/x") is not None


def test_ltl_carrier_has_no_webhooks(admin_sandbox_url):
    response = httpx.post(
        f"{admin_sandbox_url}/carriers/ridgeline/webhooks/deliveries",
        json={"url": "x"},
        headers=AUTH,
    )
    assert response.status_code == 404


def test_signature_is_hmac_sha256_of_time_event_id_and_body():
    expected = hmac.new(b"secret", b'1700000000.ev-1.{"a":1}', hashlib.sha256).hexdigest()
    assert sign(b'{"a":1}', "secret", "ev-1", 1_700_000_000) == f"t=1700000000,v1={expected}"
    assert not verify(b'{"a":1}', None, "secret", "ev-1")
