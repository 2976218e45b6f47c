"""Carrier webhooks: events pushed to a subscriber URL, each HMAC-SHA256 signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from waybill_sandbox.webhooks import SIGNATURE_HEADER, sign, verify


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


def test_pushed_events_are_signed_and_follow_the_feed(sandbox_url, receiver, truth):
    url, received = receiver
    result = (
        httpx.post(
            f"{sandbox_url}/carriers/parcelco/webhooks/deliveries",
            json={"url": url, "limit": 15},
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
        assert verify(body, headers[SIGNATURE_HEADER], "sandbox-webhook-secret")
        assert not verify(body, headers[SIGNATURE_HEADER], "another-secret")
        event = json.loads(body)
        assert event["trackingNumber"] in parcel_numbers
        assert {"type", "code", "description"} <= set(event["activityStatus"])


def test_unreachable_subscriber_is_reported_not_raised(sandbox_url):
    result = httpx.post(
        f"{sandbox_url}/carriers/swiftex/webhooks/deliveries",
        json={"url": "http://127.0.0.1:9/nowhere", "limit": 2},
        timeout=30,
    ).json()
    assert result["delivered"] == 0 and len(result["failed"]) == 2


def test_ltl_carrier_has_no_webhooks(sandbox_url):
    assert (
        httpx.post(
            f"{sandbox_url}/carriers/ridgeline/webhooks/deliveries", json={"url": "x"}
        ).status_code
        == 404
    )


def test_signature_is_hmac_sha256_of_the_body():
    expected = hmac.new(b"secret", b'{"a":1}', hashlib.sha256).hexdigest()
    assert sign(b'{"a":1}', "secret") == f"sha256={expected}"
    assert not verify(b'{"a":1}', None, "secret")
