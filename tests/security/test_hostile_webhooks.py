"""The webhook receiver under attack, served for real (``waybill webhooks serve`` in a subprocess).

Replays, cross-carrier signatures, stale timestamps, a 300 MB body, JSON nested 1,000 deep, a
client trickling its headers byte by byte, a slow body, more connections than the limit, and a
start without secrets. Figures (bytes accepted before the cut-off, the receiver's peak RSS) are
printed; the receiver's memory is read from ``/proc/<pid>/status``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from waybill import warehouse
from waybill.webhooks.signatures import sign
from waybill_sandbox.server import free_port

SECRETS = {"parcelco": "parcelco-hostile-secret", "swiftex": "swiftex-hostile-secret"}
HEADER_TIMEOUT_S = 3
BODY_TIMEOUT_S = 2
CONCURRENCY = 8
WAYBILL = str(Path(sys.executable).with_name("waybill"))


def _receiver_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILL_WEBHOOK_")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def receiver():
    """``waybill webhooks serve`` on a free loopback port; yields (base URL, pid)."""
    port = free_port()
    env = _receiver_env(
        WAYBILL_WEBHOOK_SECRET_PARCELCO=SECRETS["parcelco"],
        WAYBILL_WEBHOOK_SECRET_SWIFTEX=SECRETS["swiftex"],
        WAYBILL_WEBHOOK_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        WAYBILL_WEBHOOK_BODY_TIMEOUT_S=str(BODY_TIMEOUT_S),
        WAYBILL_WEBHOOK_CONCURRENCY=str(CONCURRENCY),
    )
    process = subprocess.Popen(
        [WAYBILL, "webhooks", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"receiver did not start: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    yield base, process.pid
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def event_id():
    value = f"hostile-{uuid.uuid4().hex}"
    yield value
    with warehouse.connect() as conn, conn.transaction():
        for carrier in SECRETS:
            if _table_exists(conn, f"raw.{carrier}__webhook_events"):
                conn.execute(
                    f"delete from raw.{carrier}__webhook_events where natural_key like %s",
                    (f"{value}%",),
                )
        conn.execute("delete from ops.dead_letters where record_location like %s", (f"%{value}%",))


def _table_exists(conn, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def _stored(carrier: str, event_prefix: str) -> int:
    with warehouse.connect() as conn:
        if not _table_exists(conn, f"raw.{carrier}__webhook_events"):
            return 0
        return conn.execute(
            f"select count(*) from raw.{carrier}__webhook_events where natural_key like %s",
            (f"{event_prefix}%",),
        ).fetchone()[0]


def _post(base, carrier, body, event_id, signature, **headers):
    all_headers = {"Content-Type": "application/json", "X-Waybill-Event-Id": event_id}
    if signature is not None:
        all_headers["X-Waybill-Signature"] = signature
    all_headers.update(headers)
    return httpx.post(f"{base}/webhooks/{carrier}", content=body, headers=all_headers, timeout=30)


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_replays_cross_carrier_and_stale_signatures_store_nothing_twice(
    receiver, event_id, hostile
):
    tally = hostile("webhooks: signatures")
    base, _ = receiver
    body = json.dumps({"trackingNumber": "1Z999", "status": "DELIVERED"}).encode()
    now = int(time.time())
    good = sign(body, SECRETS["parcelco"], event_id, now)
    attempts = {
        "first": _post(base, "parcelco", body, event_id, good),
        "exact replay": _post(base, "parcelco", body, event_id, good),
        "same signature, new event id": _post(base, "parcelco", body, event_id + "-b", good),
        "parcelco signature to swiftex": _post(base, "swiftex", body, event_id, good),
        "signed with the other carrier's secret": _post(
            base,
            "parcelco",
            body,
            event_id + "-c",
            sign(body, SECRETS["swiftex"], event_id + "-c", now),
        ),
        "stale (400 s)": _post(
            base,
            "parcelco",
            body,
            event_id + "-d",
            sign(body, SECRETS["parcelco"], event_id + "-d", int(time.time()) - 400),
        ),
        "future (400 s)": _post(
            base,
            "parcelco",
            body,
            event_id + "-e",
            sign(body, SECRETS["parcelco"], event_id + "-e", int(time.time()) + 400),
        ),
        "body-only signature (old scheme)": _post(
            base, "parcelco", body, event_id + "-f", "sha256=" + "a" * 64
        ),
        "unsigned": _post(base, "parcelco", body, event_id + "-g", None),
        "event id with a tab": _post(base, "parcelco", body, "x\ty", good),
        "event id not ASCII": _post(base, "parcelco", body, "\xff\xfe".encode("latin-1"), good),
        "event id of 5,000 characters": _post(base, "parcelco", body, "e" * 5_000, good),
    }
    tally.tried(len(attempts) - 1)
    codes = {name: response.status_code for name, response in attempts.items()}
    tally.crashed(sum(1 for code in codes.values() if code >= 500))
    stored = _stored("parcelco", event_id) + _stored("swiftex", event_id)
    tally.wrong(max(0, stored - 1))
    print(f"\nwebhook signature cases: {codes}")

    assert codes["first"] == 200 and attempts["first"].json()["stored"] is True
    assert attempts["exact replay"].json()["replay"] is True
    refused = [name for name in codes if name not in ("first", "exact replay")]
    assert all(codes[name] == 401 for name in refused if not name.startswith("event id")), codes
    assert codes["event id with a tab"] == codes["event id not ASCII"] == 400
    assert codes["event id of 5,000 characters"] == 400
    assert stored == 1


def test_json_nested_1000_deep_is_422_and_a_dead_letter(receiver, event_id, hostile):
    tally = hostile("webhooks: depth")
    base, _ = receiver
    body = b'{"a":' * 1000 + b"1" + b"}" * 1000
    signature = sign(body, SECRETS["parcelco"], event_id, int(time.time()))
    tally.tried()
    response = _post(base, "parcelco", body, event_id, signature)
    tally.crashed(int(response.status_code >= 500))
    with warehouse.connect() as conn:
        dead = conn.execute(
            "select source, record_location, field, reason from ops.dead_letters"
            " where record_location = %s",
            (f"webhook parcelco event {event_id}",),
        ).fetchall()
    tally.wrong(_stored("parcelco", event_id))

    assert response.status_code == 422 and response.json()["field"] == "$"
    assert dead == [
        (
            "parcelco",
            f"webhook parcelco event {event_id}",
            "$",
            "payload nests deeper than 64 levels",
        )
    ]


def _send_until_cut_off(base: str, head: bytes, total: int) -> tuple[int, bytes]:
    """Send ``head`` then up to ``total`` body bytes; stop when the server answers or closes.

    Returns (body bytes sent, the start of the server's answer).
    """
    host, port = base.removeprefix("http://").split(":")
    chunk = b"x" * (1 << 20)
    sent = 0
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        try:
            while sent < total:
                try:
                    answer += sock.recv(65536)
                    break  # an answer, or b"" for a closed connection: the server is done
                except BlockingIOError:
                    pass
                try:
                    sent += sock.send(chunk[: min(len(chunk), total - sent)])
                except BlockingIOError:
                    time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while len(answer) < 12:
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
    return sent, answer


def test_300_mb_bodies_are_refused_without_being_read(receiver, event_id, hostile):
    tally = hostile("webhooks: body size")
    base, pid = receiver
    size = 300 * 1024 * 1024
    before_kb = _rss_kb(pid, "VmHWM")
    now = int(time.time())
    well_formed = f"t={now},v1={'0' * 64}"
    cases = {
        "unsigned, Content-Length 300 MB": (
            f"POST /webhooks/parcelco HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
            f"X-Waybill-Event-Id: {event_id}\r\n\r\n"
        ),
        "unsigned, chunked 300 MB": (
            "POST /webhooks/parcelco HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"X-Waybill-Event-Id: {event_id}\r\n\r\n"
        ),
        "bogus signature, chunked 300 MB": (
            "POST /webhooks/parcelco HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"X-Waybill-Event-Id: {event_id}\r\nX-Waybill-Signature: {well_formed}\r\n\r\n"
        ),
    }
    results = {}
    for name, head in cases.items():
        tally.tried()
        chunked = "chunked" in name
        # A chunked body: one huge chunk announced, then raw bytes.
        prefix = f"{size:x}\r\n".encode() if chunked else b""
        sent, answer = _send_until_cut_off(base, head.encode() + prefix, size)
        results[name] = (answer[:12].decode(errors="replace"), sent)
    after_kb = _rss_kb(pid, "VmHWM")
    tally.crashed(sum(1 for status, _ in results.values() if " 5" in status))
    tally.wrong(_stored("parcelco", event_id))
    print(
        f"\n300 MB bodies: {results}; receiver peak RSS {before_kb / 1024:.0f} MB before,"
        f" {after_kb / 1024:.0f} MB after"
    )

    assert results["unsigned, Content-Length 300 MB"][0].startswith("HTTP/1.1 413")
    assert results["unsigned, chunked 300 MB"][0].startswith("HTTP/1.1 401")
    assert results["bogus signature, chunked 300 MB"][0].startswith("HTTP/1.1 413")
    # Generous: the limit is 1 MiB; reading 300 MB would add ~300 MB (it added 677 MB before).
    assert after_kb - before_kb < 64 * 1024
    assert all(sent < size for _, sent in results.values())


def test_a_client_trickling_its_headers_is_cut_off(receiver, hostile):
    tally = hostile("webhooks: slow clients")
    base, _ = receiver
    host, port = base.removeprefix("http://").split(":")
    head = (
        "POST /webhooks/parcelco HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "X-Waybill-Event-Id: slow\r\n" + "X-Padding: " + "p" * 200 + "\r\n\r\n"
    ).encode()
    tally.tried()
    sent = 0
    closed = False
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.settimeout(0.1)  # the pace: one byte per 100 ms, ~28 s for the whole head
        for byte in head:
            try:
                sock.send(bytes([byte]))
                sent += 1
                if sock.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
    elapsed = time.monotonic() - started
    print(
        f"\nslow client: cut off after {sent} of {len(head)} header bytes, {elapsed:.1f} s"
        f" (header timeout {HEADER_TIMEOUT_S} s)"
    )

    assert closed and sent < len(head)


def test_a_slow_body_is_408(receiver, event_id, hostile):
    tally = hostile("webhooks: slow clients")
    base, _ = receiver
    host, port = base.removeprefix("http://").split(":")
    signature = f"t={int(time.time())},v1={'0' * 64}"
    head = (
        f"POST /webhooks/parcelco HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
        f"X-Waybill-Event-Id: {event_id}\r\nX-Waybill-Signature: {signature}\r\n\r\n"
    ).encode()
    tally.tried()
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + b"{")
        sock.settimeout(0.2)
        for _ in range(200):  # a byte every 200 ms at most: 1000 bytes would take 200 s
            try:
                answer += sock.recv(4096)
                if answer:
                    break
            except TimeoutError:
                sock.send(b" ")
    tally.crashed(int(answer.startswith(b"HTTP/1.1 5")))

    assert answer.startswith(b"HTTP/1.1 408")


def test_past_the_concurrency_limit_the_answer_is_503_until_slow_clients_are_cut(
    receiver, event_id, hostile
):
    tally = hostile("webhooks: slow clients")
    base, _ = receiver
    host, port = base.removeprefix("http://").split(":")
    body = b'{"trackingNumber": "1Z"}'
    sockets = []
    try:
        for _ in range(CONCURRENCY):
            sock = socket.create_connection((host, int(port)), timeout=30)
            sock.sendall(b"POST /webhooks/parcelco HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        tally.tried(CONCURRENCY)
        time.sleep(1.0)  # let the server accept them all; well inside the header deadline
        crowded = _post(
            base,
            "parcelco",
            body,
            event_id,
            sign(body, SECRETS["parcelco"], event_id, int(time.time())),
        )
        time.sleep(HEADER_TIMEOUT_S + 1)  # the header deadline frees the slots
        freed = _post(
            base,
            "parcelco",
            body,
            event_id,
            sign(body, SECRETS["parcelco"], event_id, int(time.time())),
        )
    finally:
        for sock in sockets:
            sock.close()
    tally.wrong(max(0, _stored("parcelco", event_id) - 1))

    assert crowded.status_code == 503
    assert freed.status_code == 200


def test_the_receiver_refuses_to_start_without_secrets(hostile):
    tally = hostile("webhooks: start")
    tally.tried()
    result = subprocess.run(
        [WAYBILL, "webhooks", "serve", "--port", str(free_port())],
        env=_receiver_env(WAYBILL_WEBHOOK_SECRET_PARCELCO="only-one"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "WAYBILL_WEBHOOK_SECRET_SWIFTEX" in result.stderr
    assert "--insecure-dev" in result.stderr
