"""TMS endpoints (``/tms``): loads, shipments and rated charges with offset pagination.

TMS timestamps are naive wall-clock times in America/New_York (the envelope says so in
``timezone``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waybill_sandbox.records import tms_charge, tms_load, tms_shipment
from waybill_sandbox.reference import TMS_TZ
from waybill_sandbox.state import SandboxState, malform, offset_page, render

MAX_LIMIT = 500


def build_router(state: SandboxState) -> APIRouter:
    """The ``/tms`` router bound to ``state``."""
    router = APIRouter(prefix="/tms", tags=["tms"])
    world = state.world

    def envelope(total: int, offset: int, limit: int, results: list) -> dict:
        return {
            "total": total,
            "offset": offset,
            "limit": limit,
            "timezone": TMS_TZ,
            "results": results,
        }

    @router.get("/loads", summary="Loads (one carrier pickup of up to three shipments)")
    def loads(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        blocks = range(offset, min(offset + limit, world.n_blocks))
        results = []
        for b in blocks:
            rec = tms_load(world, b)
            results.append(
                malform(rec) if state.malformed("tms", f"loads/{rec['load_id']}") else rec
            )
        return envelope(world.n_blocks, offset, limit, results)

    @router.get("/shipments", summary="Shipments in TMS creation order")
    def shipments(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        results = []
        for i in range(offset, min(offset + limit, world.n)):
            rec = tms_shipment(world.shipment(i))
            results.append(
                malform(rec)
                if state.malformed("tms", f"shipments/{rec['tms_shipment_id']}")
                else rec
            )
        return envelope(world.n, offset, limit, results)

    @router.get("/rated-charges", summary="Rated charge lines in the order they were created")
    def rated_charges(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        keys = state.indexes.get("tms.rated_charges")

        def one(i: int, sub: int):
            rec = tms_charge(world.shipment(i), sub)
            return (
                malform(rec) if state.malformed("tms", f"rated-charges/{rec['charge_id']}") else rec
            )

        return envelope(len(keys), offset, limit, render(offset_page(keys, offset, limit), one))

    return router
