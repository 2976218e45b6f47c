"""The webhook receiver: signatures checked, stored in raw before 2xx, replays stored once."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from waybill import warehouse
from waybill.webhooks.receiver import create_app
from waybill.webhooks.signatures import sign

SECRET = "test-webhook-secret"


@pytest.fixture
def client():
    with TestClient(create_app(lambda carrier: SECRET)) as test_client:
        yield test_client


@pytest.fixture
def event_id():
    """An event id no other test uses; its rows are removed afterwards."""
    value = f"test-{uuid.uuid4().hex}"
    yield value
    with warehouse.connect() as conn, conn.transaction():
        conn.execute("delete from raw.parcelco__webhook_events where natural_key = %s", (value,))
        conn.execute("delete from ops.dead_letters where record_location like %s", (f"%{value}",))


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

    first = _post(client, body, event_id, sign(body, SECRET))
    stored_after_first = _stored(event_id)
    replay = _post(client, body, event_id, sign(body, SECRET))

    assert first.status_code == 200 and first.json()["stored"] is True
    assert stored_after_first == [json.loads(body)]
    assert replay.status_code == 200 and replay.json()["replay"] is True
    assert _stored(event_id) == [json.loads(body)]


def test_a_replayed_event_id_with_another_body_is_not_stored_again(client, event_id):
    body = json.dumps({"trackingNumber": "A"}).encode()
    other = json.dumps({"trackingNumber": "A", "late": True}).encode()

    _post(client, body, event_id, sign(body, SECRET))
    second = _post(client, other, event_id, sign(other, SECRET))

    assert second.json()["stored"] is False
    assert _stored(event_id) == [{"trackingNumber": "A"}]


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, sign(b"another body", SECRET), sign(b"{}", "wrong")],
)
def test_a_bad_or_missing_signature_is_401_and_stores_nothing(client, event_id, signature):
    response = _post(client, b"{}", event_id, signature)

    assert response.status_code == 401
    assert _stored(event_id) == []


def test_no_configured_secret_refuses_everything(event_id):
    with TestClient(create_app(lambda carrier: None)) as test_client:
        body = b"{}"
        response = _post(test_client, body, event_id, sign(body, ""))
    assert response.status_code == 401
    assert _stored(event_id) == []


def test_a_signed_body_that_jsonb_cannot_hold_is_dead_lettered(client, event_id):
    body = b'{"name": "bad\\u0000byte"}'

    response = _post(client, body, event_id, sign(body, SECRET))

    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert _stored(event_id) == []
    with warehouse.connect() as conn:
        reasons = conn.execute(
            "select reason from ops.dead_letters where record_location = %s",
            (f"webhook parcelco event {event_id}",),
        ).fetchall()
    assert len(reasons) == 1 and "NUL" in reasons[0][0]


def test_unknown_carrier_is_404(client, event_id):
    response = _post(client, b"{}", event_id, sign(b"{}", SECRET), carrier="ridgeline")
    assert response.status_code == 404


def test_sandbox_pushes_land_through_the_real_server(event_id, tmp_path):
    """The sandbox's signed deliveries against a running receiver: every event stored once."""
    import threading

    import requests
    import uvicorn

    from waybill_sandbox.server import free_port, running_sandbox

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(lambda c: "sandbox-webhook-secret"), port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with running_sandbox(seed=5, shipments=30) as base_url:
            while not server.started:
                thread.join(0.05)
            url = f"http://127.0.0.1:{port}/webhooks/swiftex"
            push = f"{base_url}/carriers/swiftex/webhooks/deliveries"
            first = requests.post(push, json={"url": url, "limit": 20}, timeout=60).json()
            again = requests.post(push, json={"url": url, "limit": 20}, timeout=60).json()
    finally:
        server.should_exit = True
        thread.join(10)
    assert first["delivered"] == first["attempted"] == 20 and not first["failed"]
    assert again["delivered"] == 20
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
