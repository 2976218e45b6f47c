"""Webhook signatures: HMAC-SHA256 over the timestamp, the event id and the body; per-carrier secrets.

A carrier sends ``X-Waybill-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
HMAC-SHA256 under the carrier's secret of ``<t>.<event id>.<body bytes>``. Binding the event id
means a signed body cannot be replayed under a new ``X-Waybill-Event-Id``; binding ``t`` lets the
receiver refuse anything older (or newer) than its tolerance window. Several ``v1=`` entries may
be sent (a secret being rotated); one match is enough.

Each carrier's secret comes, first match wins, from ``$WAYBILL_WEBHOOK_SECRET_<CARRIER>`` or the
password of the Airflow connection ``<carrier>_webhook``. There is no shared fallback secret: one
carrier's signature is never valid for another.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass

SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Signature:
    """A parsed signature header: the signing time and the candidate digests."""

    timestamp: int
    digests: tuple[str, ...]


def signed_payload(timestamp: int, event_id: str, body: bytes) -> bytes:
    """The bytes that are signed: ``<timestamp>.<event id>.<body>``."""
    return f"{timestamp}.{event_id}.".encode() + body


def digest(secret: str, timestamp: int, event_id: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of :func:`signed_payload` under ``secret``."""
    return hmac.new(
        secret.encode(), signed_payload(timestamp, event_id, body), hashlib.sha256
    ).hexdigest()


def sign(body: bytes, secret: str, event_id: str, timestamp: int) -> str:
    """Return the signature header value ``t=<timestamp>,v1=<hex>``."""
    return f"t={timestamp},{SCHEME}={digest(secret, timestamp, event_id, body)}"


def parse(header_value: str | None) -> Signature | None:
    """Parse ``t=…,v1=…[,v1=…]``; None when it is missing or malformed (no body is read for it)."""
    if not header_value or len(header_value) > 1_000:
        return None
    timestamp: int | None = None
    digests: list[str] = []
    for part in header_value.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == SCHEME and _HEX64.fullmatch(value):
            digests.append(value)
    if timestamp is None or not digests:
        return None
    return Signature(timestamp, tuple(digests))


def fresh(signature: Signature, now: float, tolerance_s: float = DEFAULT_TOLERANCE_S) -> bool:
    """True when the signature's timestamp is within ``tolerance_s`` of ``now`` (either side)."""
    return abs(now - signature.timestamp) <= tolerance_s


def verify(signature: Signature, secret: str, event_id: str, body: bytes) -> bool:
    """True when one of the digests signs ``event_id`` and ``body`` (constant-time comparison)."""
    if not secret:
        return False
    expected = digest(secret, signature.timestamp, event_id, body).encode()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in signature.digests)


def carrier_secret(carrier: str) -> str | None:
    """Return the webhook secret of ``carrier``, or None when none is configured for it."""
    value = os.environ.get(f"WAYBILL_WEBHOOK_SECRET_{carrier.upper()}")
    if value:
        return value
    from waybill.connections import MissingConnection, get_endpoint

    try:
        token = get_endpoint(f"{carrier}_webhook").token
    except (MissingConnection, ValueError):
        token = None
    return token or None
