"""Signed webhook delivery: carriers push tracking events to a subscriber URL.

Each POST carries the JSON event as its body, ``X-Waybill-Event-Id`` and
``X-Waybill-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is HMAC-SHA256 under the
carrier's own secret of ``<t>.<event id>.<body bytes>`` (the scheme ``waybill webhooks serve``
checks). Deliveries go only to loopback addresses unless the host is allowed by name
(:func:`target_error`): the endpoint that triggers them must not be a way to make the sandbox
POST anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
from urllib.parse import urlsplit

import httpx

SIGNATURE_HEADER = "X-Waybill-Signature"
EVENT_ID_HEADER = "X-Waybill-Event-Id"


def sign(body: bytes, secret: str, event_id: str, timestamp: int) -> str:
    """Return the signature header value: ``t=<timestamp>,v1=<hex digest>``."""
    signed = f"{timestamp}.{event_id}.".encode() + body
    return f"t={timestamp},v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(body: bytes, header_value: str | None, secret: str, event_id: str) -> bool:
    """True when ``header_value`` signs ``event_id`` and ``body`` under ``secret`` (any time)."""
    if not header_value:
        return False
    fields = dict(part.split("=", 1) for part in header_value.split(",") if "=" in part)
    if not fields.get("t", "").isdigit():
        return False
    expected = sign(body, secret, event_id, int(fields["t"]))
    return hmac.compare_digest(expected, header_value)


def target_error(url: str, allowed_hosts: frozenset[str] = frozenset()) -> str | None:
    """Why the sandbox must not deliver to ``url``, or None when it may.

    Allowed: ``http``/``https`` URLs whose host is ``localhost``, a loopback IP literal, or a
    name in ``allowed_hosts`` (e.g. the receiver's service name in docker-compose). Names are
    never resolved here, so a DNS answer cannot turn an allowed name into another address.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return "only http(s) URLs with a host"
    if host == "localhost" or host in allowed_hosts:
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"host {host!r} is not loopback; allow it with WAYBILL_SANDBOX_WEBHOOK_HOSTS"
        " (comma-separated host names)"
    )


def deliver(
    url: str,
    events: list[tuple[str, dict]],
    secret: str,
    carrier: str,
    timeout: float = 5.0,
    clock=time.time,
) -> dict:
    """POST each ``(event_id, body)`` to ``url``, signed now; return counts and the failures.

    Never raises for a failing subscriber: each failure is reported with its event id and reason.
    Redirects are not followed (the target was checked, its redirect would not be).
    """
    delivered = 0
    failed: list[dict[str, str | int]] = []
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for event_id, payload in events:
            body = json.dumps(payload, separators=(",", ":")).encode()
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(body, secret, event_id, int(clock())),
                EVENT_ID_HEADER: event_id,
                "X-Waybill-Carrier": carrier,
                "User-Agent": "WaybillSandboxTrackAlert/1.0",
            }
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                failed.append({"event_id": event_id, "error": f"{type(exc).__name__}: {exc}"})
                continue
            if 200 <= response.status_code < 300:
                delivered += 1
            else:
                failed.append({"event_id": event_id, "status_code": response.status_code})
    return {"attempted": len(events), "delivered": delivered, "failed": failed}
