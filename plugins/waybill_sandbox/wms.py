"""WMS endpoints (``/wms``): warehouses, inventory,
and page-token feeds of confirmations and adjustments.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from waybill_sandbox.records import (
    inventory_snapshot,
    wms_adjustment,
    wms_confirmation,
    wms_inventory_record,
    wms_warehouse_record,
)
from waybill_sandbox.reference import WAREHOUSES
from waybill_sandbox.state import BadRequest, SandboxState, keyset_page, malform, render

MAX_PAGE = 500


def build_router(state: SandboxState) -> APIRouter:
    """The ``/wms`` router bound to ``state``."""
    router = APIRouter(prefix="/wms", tags=["wms"])
    world = state.world

    def feed(name: str, page_token: str | None, page_size: int, fn) -> dict | JSONResponse:
        try:
            keys, nxt = keyset_page(
                state.indexes.get(name), page_token, None, page_size, state.clock
            )
        except BadRequest as exc:
            return JSONResponse(
                {"error": {"code": "INVALID_PAGE_TOKEN", "message": str(exc)}}, status_code=400
            )
        body: dict = {"items": render(keys, fn)}
        if nxt:
            body["nextPageToken"] = nxt
        return body

    @router.get("/warehouses", summary="Warehouses with their time zones")
    def warehouses():
        return {"items": [wms_warehouse_record(w) for w in WAREHOUSES]}

    @router.get(
        "/shipment-confirmations",
        summary="Pick/pack/ship confirmations in the order they were sent",
    )
    def confirmations(
        page_token: str | None = None, page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        def one(i: int, sub: int):
            rec = wms_confirmation(world.shipment(i), world, resent=bool(sub))
            bad = state.malformed("wms", f"shipment-confirmations/{rec['wms_shipment_id']}/{sub}")
            return malform(rec) if bad else rec

        return feed("wms.shipment_confirmations", page_token, page_size, one)

    @router.get(
        "/inventory-adjustments", summary="Inventory adjustments in the order they happened"
    )
    def adjustments(
        page_token: str | None = None, page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        def one(i: int, sub: int):
            rec = wms_adjustment(world.shipment(i), sub)
            return (
                malform(rec)
                if state.malformed("wms", f"inventory-adjustments/{rec['adjustment_id']}")
                else rec
            )

        return feed("wms.inventory_adjustments", page_token, page_size, one)

    @router.get("/inventory", summary="On-hand snapshot per warehouse and item at the world's end")
    def inventory(
        page_token: str | None = None, page_size: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        rows = inventory_snapshot(world)
        try:
            start = int(page_token) if page_token else 0
        except ValueError:
            return JSONResponse(
                {"error": {"code": "INVALID_PAGE_TOKEN", "message": page_token}}, status_code=400
            )
        body: dict = {
            "items": [wms_inventory_record(r, world) for r in rows[start : start + page_size]]
        }
        if start + page_size < len(rows):
            body["nextPageToken"] = str(start + page_size)
        return body

    return router
