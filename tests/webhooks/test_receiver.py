"""The webhook receiver: signatures checked, stored in raw before 2xx, replays stored once."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from waybill import warehouse
from waybill.webhooks.receiver import MissingWebhookSecret, create_app
from waybill.webhooks.signatures import sign

SECRETS = {"parcelco": "parcelco-test-secret", "swiftex": "swiftex-test-secret"}
SECRET = SECRETS["parcelco"]


@pytest.fixture
def client():
    with TestClient(create_app(SECRETS.get)) as test_client:
        yield test_client


@pytest.fixture
def event_id():
    """An event id no other test uses; its rows are removed afterwards."""
    value = f"test-{uuid.uuid4().hex}"
    yield value
    with warehouse.connect() as conn, conn.transaction():
        if conn.execute("select to_regclass('raw.parcelco__webhook_events')").fetchone()[0]:
            conn.execute(
                "delete from raw.parcelco__webhook_events where natural_key = %s", (value,)
            )
        conn.execute("delete from ops.dead_letters where record_location like %s", (f"%{value}",))


def _signed(body: bytes, event_id: str, secret: str = SECRET, at: float | None = None) -> str:
    return sign(body, secret, event_id, int(time.time() if at is None else at))


def _post(client, body: bytes, event_id: str, signature: str | None, carrier: str = "parcelco"):
    headers = {"Content-Type": "application/json", "X-Waybill-Event-Id": event_id}
    if signature is not None:
        headers["X-Waybill-Signature"] = signature
    return client.post(f"/webhooks/{carrier}", content=body, headers=headers)


def _stored(event_id: str) -> list[dict]:
    with warehouse.connect() as conn:
        rows = conn.execute(
            "select payload from raw.parcelco__webhook_events where natural_key = %s",
            (event_id,),
        ).fetchall()
    return [row[0] for row in rows]


def test_a_signed_event_is_stored_before_the_answer_and_a_replay_is_not(client, event_id):
    body = json.dumps({"trackingNumber": "1Z4W7E610300000001", "note": "'; drop table"}).encode()

    first = _post(client, body, event_id, _signed(body, event_id))
    stored_after_first = _stored(event_id)
    replay = _post(client, body, event_id, _signed(body, event_id))

    assert first.status_code == 200 and first.json()["stored"] is True
    assert stored_after_first == [json.loads(body)]
    assert replay.status_code == 200 and replay.json()["replay"] is True
    assert _stored(event_id) == [json.loads(body)]


def test_a_replayed_event_id_with_another_body_is_not_stored_again(client, event_id):
    body = json.dumps({"trackingNumber": "A"}).encode()
    other = json.dumps({"trackingNumber": "A", "late": True}).encode()

    _post(client, body, event_id, _signed(body, event_id))
    second = _post(client, other, event_id, _signed(other, event_id))

    assert second.json()["stored"] is False
    assert _stored(event_id) == [{"trackingNumber": "A"}]


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        "t=1700000000,v1=" + "0" * 64,
        "t=now,v1=" + "0" * 64,
        "v1=" + "0" * 64,
    ],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(client, event_id, signature):
    response = _post(client, b"{}", event_id, signature)

    assert response.status_code == 401
    assert _stored(event_id) == []


def test_a_signature_of_another_body_event_or_secret_is_401(client, event_id):
    answers = [
        _post(client, b"{}", event_id, _signed(b"another body", event_id)).status_code,
        _post(client, b"{}", event_id, _signed(b"{}", "another-event")).status_code,
        _post(client, b"{}", event_id, _signed(b"{}", event_id, secret="wrong")).status_code,
    ]
    assert answers == [401, 401, 401]
    assert _stored(event_id) == []


def test_a_signature_outside_the_tolerance_window_is_401(event_id):
    now = 1_800_000_000
    with TestClient(create_app(SECRETS.get, clock=lambda: now)) as fixed:
        old = _post(fixed, b"{}", event_id, _signed(b"{}", event_id, at=now - 301))
        future = _post(fixed, b"{}", event_id, _signed(b"{}", event_id, at=now + 301))
        edge = _post(fixed, b"{}", event_id, _signed(b"{}", event_id, at=now - 300))

    assert (old.status_code, future.status_code) == (401, 401)
    assert "outside 300 s" in old.text
    assert edge.status_code == 200


def test_no_configured_secret_refuses_to_start_naming_the_carrier():
    with pytest.raises(MissingWebhookSecret) as refused:
        create_app({"parcelco": SECRET}.get)
    assert "WAYBILL_WEBHOOK_SECRET_SWIFTEX" in str(refused.value)
    assert "parcelco" not in str(refused.value).split(":")[0]


def test_the_development_flag_starts_but_refuses_the_carrier_without_secret(event_id):
    app = create_app({"swiftex": "s"}.get, allow_missing_secrets=True)
    with TestClient(app) as test_client:
        response = _post(test_client, b"{}", event_id, _signed(b"{}", event_id, secret=""))
    assert response.status_code == 401
    assert _stored(event_id) == []


def test_a_signed_body_that_jsonb_cannot_hold_is_dead_lettered(client, event_id):
    body = b'{"name": "bad\\u0000byte"}'

    response = _post(client, body, event_id, _signed(body, event_id))

    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert _stored(event_id) == []
    with warehouse.connect() as conn:
        reasons = conn.execute(
            "select reason from ops.dead_letters where record_location = %s",
            (f"webhook parcelco event {event_id}",),
        ).fetchall()
    assert len(reasons) == 1 and "NUL" in reasons[0][0]


def test_unknown_carrier_is_404(client, event_id):
    response = _post(client, b"{}", event_id, _signed(b"{}", event_id), carrier="ridgeline")
    assert response.status_code == 404


def test_sandbox_pushes_land_through_the_real_server(event_id, tmp_path):
    """The sandbox's signed deliveries against a running receiver: every event stored once."""
    import threading

    import requests

    from waybill.webhooks.limits import Limits
    from waybill.webhooks.server import build_server
    from waybill_sandbox.server import free_port, running_sandbox

    port = free_port()
    server = build_server(create_app(SECRETS.get), "127.0.0.1", port, Limits(), "warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    admin = {"Authorization": "Bearer admin"}
    try:
        with running_sandbox(
            seed=5, shipments=30, erp_token="admin", webhook_secrets=SECRETS
        ) as base_url:
            while not server.started:
                thread.join(0.05)
            url = f"http://127.0.0.1:{port}/webhooks/swiftex"
            push = f"{base_url}/carriers/swiftex/webhooks/deliveries"
            first = requests.post(push, json={"url": url, "limit": 20}, headers=admin, timeout=60)
            again = requests.post(push, json={"url": url, "limit": 20}, headers=admin, timeout=60)
            crossed = requests.post(
                f"{base_url}/carriers/parcelco/webhooks/deliveries",
                json={"url": url, "limit": 3},
                headers=admin,
                timeout=60,
            ).json()
    finally:
        server.should_exit = True
        thread.join(10)
    first, again = first.json(), again.json()
    assert first["delivered"] == first["attempted"] == 20 and not first["failed"]
    assert again["delivered"] == 20
    # ParcelCo's events, signed with ParcelCo's secret, are not SwiftEx's.
    assert crossed["delivered"] == 0
    assert {f["status_code"] for f in crossed["failed"]} == {401}
    with warehouse.connect() as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "select natural_key from raw.swiftex__webhook_events where batch_id is not null"
                " and natural_key like '%-%' and loaded_at > now() - interval '5 minutes'"
            ).fetchall()
        ]
        conn.execute("delete from raw.swiftex__webhook_events where natural_key = any(%s)", (ids,))
        conn.commit()
    assert len(ids) == len(set(ids)) >= 20
