"""The sandbox's webhook-delivery endpoint is not an open relay: admin token, loopback targets only."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from waybill_sandbox.server import running_sandbox

ADMIN = "hostile-erp-token"  # the ERP full-scope token is the sandbox admin credential


@pytest.fixture(scope="module")
def sandbox():
    with running_sandbox(seed=3, shipments=20, erp_token=ADMIN) as base_url:
        yield base_url


@pytest.fixture
def counting_receiver():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    thread.join()


def test_deliveries_cannot_be_triggered_or_aimed_by_an_outsider(
    sandbox, counting_receiver, hostile
):
    tally = hostile("sandbox deliveries")
    port, hits = counting_receiver
    push = f"{sandbox}/carriers/parcelco/webhooks/deliveries"
    loopback = f"http://127.0.0.1:{port}/hook"
    auth = {"Authorization": f"Bearer {ADMIN}"}
    attempts = [
        ({}, loopback),
        ({"Authorization": "Bearer guess"}, loopback),
        ({"Authorization": ADMIN}, loopback),  # no scheme
        ({"Authorization": "Bearer sandbox-readonly-token"}, loopback),
        (auth, "http://169.254.169.254/latest/meta-data/"),
        (auth, "http://[fd00::1]/x"),
        (auth, "http://192.168.1.1/x"),
        (auth, "http://0.0.0.0:1/x"),
        (auth, f"http://127.0.0.1.nip.io:{port}/x"),
        (auth, f"http://user@evil.example:{port}/x"),
        (auth, "ftp://127.0.0.1/x"),
        (auth, "//127.0.0.1/x"),
        (auth, "not a url"),
    ]
    codes = []
    for headers, url in attempts:
        tally.tried()
        codes.append(
            httpx.post(push, json={"url": url, "limit": 1}, headers=headers, timeout=30).status_code
        )
    tally.crashed(sum(1 for code in codes if code >= 500))
    tally.wrong(len(hits))
    allowed = httpx.post(push, json={"url": loopback, "limit": 2}, headers=auth, timeout=30)

    assert codes[:4] == [401] * 4
    assert codes[4:] == [400] * (len(attempts) - 4)
    assert allowed.status_code == 200 and allowed.json()["delivered"] == 2
    assert len(hits) == 2
