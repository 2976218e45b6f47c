"""TMS endpoints (``/tms``): loads, shipments and rated charges with offset pagination.

TMS timestamps are naive wall-clock times in America/New_York (the envelope says so in
``timezone``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waybill_sandbox.records import charge_record_key, tms_charge, tms_load, tms_shipment
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
        clock = state.clock
        total, keys = offset_page(state.indexes.get("tms.loads"), offset, limit, clock)

        def one(i: int, _sub: int):
            rec = tms_load(world, i // 3, clock)
            return malform(rec) if state.malformed("tms", f"loads/{rec['load_id']}") else rec

        return envelope(total, offset, limit, render(keys, one))

    @router.get("/shipments", summary="Shipments in the order they were tendered")
    def shipments(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        clock = state.clock
        total, keys = offset_page(state.indexes.get("tms.shipments"), offset, limit, clock)

        def one(i: int, _sub: int):
            rec = tms_shipment(world.shipment(i), clock)
            return (
                malform(rec)
                if state.malformed("tms", f"shipments/{rec['tms_shipment_id']}")
                else rec
            )

        return envelope(total, offset, limit, render(keys, one))

    @router.get("/rated-charges", summary="Rated charge lines in the order they were created")
    def rated_charges(
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        total, keys = offset_page(
            state.indexes.get("tms.rated_charges"), offset, limit, state.clock
        )

        def one(i: int, sub: int):
            rec = tms_charge(world.shipment(i), sub)
            bad = state.malformed("tms", charge_record_key(rec))
            return malform(rec) if bad else rec

        return envelope(total, offset, limit, render(keys, one))

    return router
