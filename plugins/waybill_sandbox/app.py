"""The sandbox FastAPI app: one app, a prefix per partner system, OpenAPI at ``/openapi.json``."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from waybill_sandbox import admin, carriers, crm, erp, tms, wms
from waybill_sandbox.faults import FaultConfig
from waybill_sandbox.state import SandboxState
from waybill_sandbox.timefmt import iso_utc

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from waybill_sandbox.world import World

DEFAULT_ERP_TOKEN = "sandbox-erp-token"
READONLY_ERP_TOKEN = "sandbox-readonly-token"
WEBHOOK_CARRIERS = ("parcelco", "swiftex")
SYSTEM_PREFIXES = ("erp", "wms", "tms", "carriers")


def create_app(
    world: World,
    faults: FaultConfig | float | str = 0.0,
    erp_token: str | None = None,
    *,
    erp_rate_limit: float = 0.0,
    webhook_secrets: Mapping[str, str] | None = None,
    inbound: Path | None = None,
    clock: int | None = None,
    ledger: Path | None = None,
    crm_ledger: Path | None = None,
    crm_rate_limit: float = 0.0,
) -> FastAPI:
    """Build the sandbox app serving ``world`` as of ``clock`` (epoch seconds, default the
    world's horizon; ``POST /admin/clock`` moves it forward).

    ``ledger``: a file the ERP appends one JSON line to per accepted document;
    ``crm_ledger``: the CRM's (one line per accepted write); ``crm_rate_limit``: CRM records
    written per second (0 = off).

    ``erp_token`` (else env ``WAYBILL_SANDBOX_ERP_TOKEN``, else ``sandbox-erp-token``) has
    full scope; ``sandbox-readonly-token`` may only read. ``erp_rate_limit`` caps invoice
    posts per second (0 = off).
    Each carrier signs its webhooks with its own secret: ``webhook_secrets[carrier]``, else env
    ``WAYBILL_SANDBOX_WEBHOOK_SECRET_<CARRIER>``, else ``sandbox-webhook-secret-<carrier>`` (a
    local-development default; docker-compose always sets them). Triggering deliveries is an
    admin call (the ERP's full-scope token, as ``/admin``); they go to loopback only, or to
    the host names in env ``WAYBILL_SANDBOX_WEBHOOK_HOSTS`` (comma-separated).
    Raises ``ValueError`` for a bad ``faults`` spec.
    """
    config = FaultConfig.parse(faults)
    state = SandboxState(
        world=world,
        faults=config,
        erp_token=erp_token or os.environ.get("WAYBILL_SANDBOX_ERP_TOKEN") or DEFAULT_ERP_TOKEN,
        readonly_token=READONLY_ERP_TOKEN,
        webhook_secrets={
            carrier: (webhook_secrets or {}).get(carrier)
            or os.environ.get(f"WAYBILL_SANDBOX_WEBHOOK_SECRET_{carrier.upper()}")
            or f"sandbox-webhook-secret-{carrier}"
            for carrier in WEBHOOK_CARRIERS
        },
        erp_rate_limit=erp_rate_limit,
        inbound=inbound,
        webhook_hosts=frozenset(
            host.strip()
            for host in os.environ.get("WAYBILL_SANDBOX_WEBHOOK_HOSTS", "").split(",")
            if host.strip()
        ),
        clock=clock,
        ledger=ledger,
    )
    app = FastAPI(
        title="Waybill partner sandbox",
        version="1.0",
        description="Simulated ERP, WMS, TMS and carriers (see plugins/waybill_sandbox/README.md).",
    )
    app.state.sandbox = state

    @app.middleware("http")
    async def inject_faults(request: Request, call_next):
        """Deterministic request faults: 429/500/503/slow,
        at most ``max_consecutive`` times per request.
        """
        system = request.url.path.strip("/").split("/", 1)[0]
        if system in SYSTEM_PREFIXES and config.rate(system) > 0:
            idem = request.headers.get("idempotency-key", "")
            key = f"{request.method} {request.url.path}?{request.url.query}#{idem}"
            kind = config.request_fault(world.seed, system, key, state.next_attempt(key))
            if kind == "429":
                return JSONResponse(
                    {"detail": "too many requests"},
                    status_code=429,
                    headers={"Retry-After": str(config.retry_after_seconds)},
                )
            if kind in ("500", "503"):
                return JSONResponse(
                    {"detail": "sandbox fault: server error"}, status_code=int(kind)
                )
            if kind == "slow":
                await asyncio.sleep(config.slow_seconds)
        return await call_next(request)

    @app.get("/health", tags=["meta"], summary="Liveness and what this instance serves")
    def health():
        return {
            "status": "ok",
            "seed": world.seed,
            "shipments": world.n,
            "start": world.start.isoformat(),
            "days": world.days,
            "as_of": iso_utc(world.as_of),
            "faults": config.rates,
            "changes": world.changes,
            "clock": iso_utc(state.clock),
            "horizon": iso_utc(state.horizon),
        }

    app.include_router(erp.build_router(state))
    app.include_router(wms.build_router(state))
    app.include_router(tms.build_router(state))
    app.include_router(carriers.build_router(state))
    app.include_router(admin.build_router(state))
    app.include_router(
        crm.build_router(crm.CrmState(state, rate_limit=crm_rate_limit, ledger=crm_ledger))
    )
    return app
