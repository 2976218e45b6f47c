"""HMAC-SHA256 webhook signatures and the shared secret of each carrier.

A carrier signs the exact body bytes: ``X-Waybill-Signature: sha256=<hex HMAC-SHA256>``.
The secret comes, first match wins, from ``$WAYBILL_WEBHOOK_SECRET_<CARRIER>``, the password
of the Airflow connection ``<carrier>_webhook``, or ``$WAYBILL_WEBHOOK_SECRET``. None of them
set means every request for that carrier is refused: the receiver fails closed.
"""

from __future__ import annotations

import hashlib
import hmac
import os

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """Return the signature header value for ``body`` under ``secret``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header_value: str | None, secret: str) -> bool:
    """True when ``header_value`` signs ``body`` under ``secret`` (constant-time comparison)."""
    if not header_value or not secret:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header_value.strip().encode())


def carrier_secret(carrier: str) -> str | None:
    """Return the webhook secret of ``carrier``, or None when none is configured."""
    value = os.environ.get(f"WAYBILL_WEBHOOK_SECRET_{carrier.upper()}")
    if value:
        return value
    from waybill.connections import MissingConnection, get_endpoint

    try:
        token = get_endpoint(f"{carrier}_webhook").token
    except (MissingConnection, ValueError):
        token = None
    return token or os.environ.get("WAYBILL_WEBHOOK_SECRET") or None
