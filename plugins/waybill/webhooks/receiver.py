"""The webhook receiver: ``POST /webhooks/<carrier>`` → verify → store in raw → 2xx.

Answers, per request:

- 404: the carrier has no ``webhook`` block in ``sources.yaml``;
- 401: the signature is missing or wrong, or no secret is configured (nothing is stored);
- 400: the event id header is missing (nothing stored);
- 422: signed, but the body is not JSON JSONB can hold — dead-lettered with the reason;
- 200 ``{"stored": true}``: stored durably (committed) before answering;
- 200 ``{"stored": false, "replay": true}``: this event id was stored before.

``GET /health`` answers ``{"status": "ok"}``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from waybill import warehouse
from waybill.load.records import PayloadError
from waybill.sources import load_sources
from waybill.webhooks.signatures import carrier_secret, verify
from waybill.webhooks.store import store_dead_letter, store_event

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

log = logging.getLogger(__name__)


class _Connections(threading.local):
    """One warehouse connection per worker thread, reopened when it breaks."""

    conn: psycopg.Connection | None = None


def create_app(secret_for: Callable[[str], str | None] = carrier_secret) -> FastAPI:
    """Build the receiver app; ``secret_for(carrier)`` returns each carrier's shared secret."""
    app = FastAPI(title="Waybill webhook receiver")
    carriers = {
        name: source.webhook
        for name, source in load_sources().items()
        if source.webhook is not None
    }
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
            return JSONResponse({"detail": f"no webhooks for {carrier!r}"}, status_code=404)
        body = await request.body()
        secret = secret_for(carrier)
        if not secret or not verify(body, request.headers.get(config.signature_header), secret):
            log.warning("webhook %s: bad or missing signature; nothing stored", carrier)
            return JSONResponse({"detail": "invalid signature"}, status_code=401)
        event_id = request.headers.get(config.event_id_header, "").strip()
        if not event_id:
            return JSONResponse(
                {"detail": f"header {config.event_id_header} is required"}, status_code=400
            )
        import anyio.to_thread

        status, answer = await anyio.to_thread.run_sync(
            _store, connection, carrier, config.entity, event_id, body
        )
        return JSONResponse(answer, status_code=status)

    return app


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
        store_dead_letter(conn, carrier, entity, location, reason, body.decode("utf-8", "replace"))
        return 422, {"detail": reason}
    try:
        new = store_event(conn, carrier, entity, event_id, text, location)
    except PayloadError as exc:
        store_dead_letter(conn, carrier, entity, location, exc.reason, text)
        return 422, {"detail": exc.reason}
    return 200, {"stored": new, "replay": not new, "event_id": event_id}
