"""The webhook receiver: ``POST /webhooks/<carrier>`` → limits → verify → store in raw → 2xx.

Checks run cheapest first, and nothing unsigned is read: the body is read only after the
headers passed, and never past the body limit. Answers, per request:

- 404: the carrier has no ``webhook`` block in ``sources.yaml``;
- 413: ``Content-Length`` (checked before reading) or the streamed body passes the body limit;
- 400: the event id header is missing or not printable ASCII of at most 200 characters;
- 401: no secret for the carrier (development mode only), the signature is missing, malformed,
  outside the tolerance window, or does not sign this event id and body (nothing is stored);
- 408: the body did not arrive within the body timeout;
- 422: signed, but the body is not JSON JSONB can hold or nests too deep — dead-lettered with
  the reason and field;
- 200 ``{"stored": true}``: stored durably (committed) before answering;
- 200 ``{"stored": false, "replay": true}``: this event id was stored before.

``GET /health`` answers ``{"status": "ok"}``. :func:`create_app` refuses to build without a
secret for every carrier (:class:`MissingWebhookSecret`) unless ``allow_missing_secrets``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from waybill import warehouse
from waybill.load.records import PayloadError
from waybill.sources import load_sources
from waybill.webhooks import signatures
from waybill.webhooks.limits import Limits
from waybill.webhooks.store import store_dead_letter, store_event

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

log = logging.getLogger(__name__)

MAX_EVENT_ID_LENGTH = 200


class MissingWebhookSecret(RuntimeError):
    """Carriers with webhooks but no secret: the receiver will not start for them."""


class _BodyTooLarge(Exception):
    pass


class _Connections(threading.local):
    """One warehouse connection per worker thread, reopened when it breaks."""

    conn: psycopg.Connection | None = None


def create_app(
    secret_for: Callable[[str], str | None] = signatures.carrier_secret,
    *,
    limits: Limits | None = None,
    allow_missing_secrets: bool = False,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the receiver app; ``secret_for(carrier)`` returns each carrier's own secret.

    Reads ``sources.yaml`` and every carrier's secret once. Raises :class:`MissingWebhookSecret`
    naming the carriers without one, unless ``allow_missing_secrets`` (development only: those
    carriers are then answered 401, never accepted unsigned).
    """
    limits = limits or Limits()
    carriers = {
        name: source.webhook
        for name, source in load_sources().items()
        if source.webhook is not None
    }
    secrets = {name: secret_for(name) or None for name in carriers}
    missing = sorted(name for name, secret in secrets.items() if not secret)
    if missing and not allow_missing_secrets:
        names = ", ".join(f"WAYBILL_WEBHOOK_SECRET_{name.upper()}" for name in missing)
        raise MissingWebhookSecret(
            f"no webhook secret for {', '.join(missing)}: set {names} (or the password of the"
            f" Airflow connection <carrier>_webhook). To start anyway for local development,"
            f" pass --insecure-dev: those carriers are then refused (401)."
        )
    if missing:
        log.warning("webhooks: DEVELOPMENT MODE, no secret for %s: refused", ", ".join(missing))
    app = FastAPI(title="Waybill webhook receiver")
    local = _Connections()

    def connection() -> psycopg.Connection:
        if local.conn is None or local.conn.closed or local.conn.broken:
            local.conn = warehouse.connect(role="webhook", autocommit=True)
        return local.conn

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/{carrier}")
    async def receive(carrier: str, request: Request) -> JSONResponse:
        config = carriers.get(carrier)
        if config is None:
            return _answer(404, f"no webhooks for {carrier!r}")
        declared = request.headers.get("content-length")
        if declared is not None and (
            not declared.isdigit() or int(declared) > limits.max_body_bytes
        ):
            return _answer(413, f"body over {limits.max_body_bytes} bytes")
        event_id = request.headers.get(config.event_id_header, "").strip()
        if not _valid_event_id(event_id):
            return _answer(
                400,
                f"header {config.event_id_header} is required: printable ASCII,"
                f" at most {MAX_EVENT_ID_LENGTH} characters",
            )
        secret = secrets[carrier]
        signature = signatures.parse(request.headers.get(config.signature_header))
        if secret is None or signature is None:
            log.warning("webhook %s: no secret or no valid signature header; nothing read", carrier)
            return _answer(401, "invalid signature")
        if not signatures.fresh(signature, clock(), limits.tolerance_s):
            log.warning(
                "webhook %s event %s: signature timestamp outside tolerance", carrier, event_id
            )
            return _answer(401, f"signature timestamp outside {limits.tolerance_s:g} s")
        import anyio

        try:
            with anyio.fail_after(limits.body_timeout_s):
                body = await _read_capped(request, limits.max_body_bytes)
        except _BodyTooLarge:
            return _answer(413, f"body over {limits.max_body_bytes} bytes")
        except TimeoutError:
            return _answer(408, f"body not received within {limits.body_timeout_s:g} s")
        if not signatures.verify(signature, secret, event_id, body):
            log.warning("webhook %s: bad signature; nothing stored", carrier)
            return _answer(401, "invalid signature")
        import anyio.to_thread

        status, answer = await anyio.to_thread.run_sync(
            _store, connection, carrier, config.entity, event_id, body
        )
        return JSONResponse(answer, status_code=status)

    return app


def _answer(status: int, detail: str) -> JSONResponse:
    # Connection: close on refusals: an unread body must not be parsed as the next request.
    headers = {"Connection": "close"} if status >= 400 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _valid_event_id(event_id: str) -> bool:
    return (
        0 < len(event_id) <= MAX_EVENT_ID_LENGTH and event_id.isascii() and event_id.isprintable()
    )


async def _read_capped(request: Request, limit: int) -> bytes:
    """Read the body as it streams in, raising :class:`_BodyTooLarge` once past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _store(
    connection: Callable[[], psycopg.Connection],
    carrier: str,
    entity: str,
    event_id: str,
    body: bytes,
) -> tuple[int, dict[str, Any]]:
    location = f"webhook {carrier} event {event_id}"
    conn = connection()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"body is not UTF-8: {exc.reason} at byte {exc.start}"
        store_dead_letter(
            conn, carrier, entity, location, reason, body.decode("utf-8", "replace"), "body"
        )
        return 422, {"detail": reason}
    try:
        new = store_event(conn, carrier, entity, event_id, text, location)
    except PayloadError as exc:
        store_dead_letter(conn, carrier, entity, location, exc.reason, text, exc.field or "body")
        return 422, {"detail": exc.reason, "field": exc.field or "body"}
    return 200, {"stored": new, "replay": not new, "event_id": event_id}
