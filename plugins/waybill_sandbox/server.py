"""Run the sandbox app with uvicorn in a background thread (for tests, the demo and the CLI)."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import uvicorn

from waybill_sandbox.app import create_app
from waybill_sandbox.faults import FaultConfig
from waybill_sandbox.timefmt import iso_utc, parse_iso
from waybill_sandbox.world import World

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import date


def resolve_clock(world: World, clock: int | str | None) -> int:
    """Epoch seconds of ``clock``: an int as is, ``START``/``END`` (None = END), ``END-<H>h``
    (H hours before the horizon) or an ISO-8601 instant. Raises ``ValueError`` outside the
    world's window."""
    if clock is None or clock == "END":
        return world.as_of
    if clock == "START":
        return world.start_epoch
    relative = re.fullmatch(r"END-(\d+)h", clock) if isinstance(clock, str) else None
    if relative:
        epoch = world.as_of - int(relative.group(1)) * 3600
    else:
        epoch = clock if isinstance(clock, int) else parse_iso(clock)
    if not world.start_epoch <= epoch <= world.as_of:
        raise ValueError(
            f"clock {iso_utc(epoch)} outside the world's window "
            f"{iso_utc(world.start_epoch)}..{iso_utc(world.as_of)}"
        )
    return epoch


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@contextmanager
def running_sandbox(
    seed: int = 42,
    shipments: int = 50,
    faults: FaultConfig | float | str = 0.0,
    port: int = 0,
    *,
    erp_token: str | None = None,
    erp_rate_limit: float = 0.0,
    inbound: Path | None = None,
    webhook_secrets: dict[str, str] | None = None,
    startup_timeout: float = 20.0,
    start: date | None = None,
    days: int | None = None,
    changes: float = 0.0,
    clock: int | str | None = None,
    ledger: Path | None = None,
    crm_ledger: Path | None = None,
    crm_rate_limit: float = 0.0,
) -> Iterator[str]:
    """Serve a fresh sandbox on 127.0.0.1 (a free port when ``port`` is 0) and yield its base URL.

    ``webhook_secrets``: :func:`create_app`'s.
    ``clock``: epoch seconds or ``"START"``/``"END"``/an ISO-8601 instant (default END, the
    horizon); ``changes``: the post-delivery change rate; ``ledger``: the ERP's ledger file;
    ``crm_ledger``/``crm_rate_limit``: the CRM's ledger file and records-per-second limit.

    Waits until ``/health`` answers; stops uvicorn and joins its thread on exit.
    Raises ``RuntimeError`` if the server does not come up within ``startup_timeout`` seconds.
    """
    world = World(seed, shipments, start=start, days=days, changes=changes)
    if inbound is not None:
        from waybill_sandbox.files import write_feeds

        write_feeds(world, Path(inbound), FaultConfig.parse(faults))
    app = create_app(
        world,
        faults,
        erp_token,
        erp_rate_limit=erp_rate_limit,
        inbound=inbound,
        webhook_secrets=webhook_secrets,
        clock=resolve_clock(world, clock),
        ledger=ledger,
        crm_ledger=crm_ledger,
        crm_rate_limit=crm_rate_limit,
    )
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"waybill-sandbox-{port}", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + startup_timeout
    try:
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start on {base_url}")
            time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
