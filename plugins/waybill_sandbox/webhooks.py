"""Signed webhook delivery: carriers push tracking events to a subscriber URL.

Each POST carries the JSON event as its body and ``X-Waybill-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes under the shared secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

SIGNATURE_HEADER = "X-Waybill-Signature"


def sign(body: bytes, secret: str) -> str:
    """Return the signature header value for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header_value: str | None, secret: str) -> bool:
    """True when ``header_value`` is the valid signature of ``body`` (constant-time comparison)."""
    return bool(header_value) and hmac.compare_digest(sign(body, secret), header_value or "")


def deliver(
    url: str, events: list[tuple[str, dict]], secret: str, carrier: str, timeout: float = 5.0
) -> dict:
    """POST each ``(event_id, body)`` to ``url``, signed; return counts and the failures.

    Never raises for a failing subscriber: each failure is reported with its event id and reason.
    """
    delivered = 0
    failed: list[dict[str, str | int]] = []
    with httpx.Client(timeout=timeout) as client:
        for event_id, payload in events:
            body = json.dumps(payload, separators=(",", ":")).encode()
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(body, secret),
                "X-Waybill-Event-Id": event_id,
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
