"""Serve the receiver with uvicorn, cutting off clients that are slow to send their headers.

uvicorn times out idle keep-alive connections but not a request whose headers trickle in byte
by byte (slowloris): :func:`header_deadline_protocol` adds that deadline to its h11 protocol.
The body's deadline is the app's (``Limits.body_timeout_s``, answered 408); ``limit_concurrency``
answers 503 past ``Limits.concurrency`` connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI

    from waybill.webhooks.limits import Limits


class _HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take too long."""

    header_timeout_s: float = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._awaiting_headers():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if not self._awaiting_headers():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._cut_off)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _cut_off(self) -> None:
        self._deadline = None
        if self._awaiting_headers() and not self.transport.is_closing():
            self.logger.warning("webhooks: client sent no complete headers in time; disconnected")
            self.transport.close()


def header_deadline_protocol(header_timeout_s: float) -> type[H11Protocol]:
    """Return the h11 protocol class with a ``header_timeout_s`` deadline on request headers."""
    return type(
        "HeaderDeadlineProtocol",
        (_HeaderDeadlineProtocol,),
        {"header_timeout_s": header_timeout_s},
    )


def build_server(
    app: FastAPI, host: str, port: int, limits: Limits, log_level: str = "info"
) -> uvicorn.Server:
    """A uvicorn server for ``app`` with the header deadline and the concurrency limit."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=header_deadline_protocol(limits.header_timeout_s),
        limit_concurrency=limits.concurrency,
        timeout_keep_alive=5,
        log_level=log_level,
        access_log=False,
        lifespan="off",
    )
    return uvicorn.Server(config)
