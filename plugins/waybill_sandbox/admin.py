"""``/admin``: the sandbox clock. ``GET /admin/clock`` reads it, ``POST /admin/clock`` moves it
forward (``{"advance_hours": H}`` or ``{"to": "<ISO-8601>"}``; clamped to the horizon, 409 when
backwards). Both need the ERP's full-scope bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from waybill_sandbox.state import ClockBackwards, SandboxState
from waybill_sandbox.timefmt import parse_iso


def _denied(state: SandboxState, request: Request) -> JSONResponse | None:
    """None when the request carries the admin credential (the ERP's full-scope token); else 401.

    Also guards the carriers' webhook-delivery endpoint (``carriers.py``, as ``denied``).
    """
    authorization = request.headers.get("authorization") or ""
    token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    if token != state.erp_token:
        return JSONResponse(
            {"detail": "admin calls need the ERP's full-scope bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="admin"'},
        )
    return None


def _target(state: SandboxState, body: object) -> int:
    """The epoch a POST body asks for; ``ValueError`` naming the field when it is unusable."""
    if not isinstance(body, dict) or ("advance_hours" in body) == ("to" in body):
        raise ValueError('send exactly one of {"advance_hours": H} or {"to": "<ISO-8601>"}')
    if "to" in body:
        if not isinstance(body["to"], str):
            raise ValueError("to: must be an ISO-8601 string")
        return parse_iso(body["to"])
    hours = body["advance_hours"]
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise ValueError("advance_hours: must be a number")
    return state.clock + round(hours * 3600)


def build_router(state: SandboxState) -> APIRouter:
    """The ``/admin`` router bound to ``state``."""
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/clock", summary="The sandbox clock, the world's start and its horizon")
    def get_clock(request: Request):
        return _denied(state, request) or state.clock_body()

    @router.post("/clock", summary="Advance the sandbox clock (never backwards)")
    async def post_clock(request: Request):
        denied = _denied(state, request)
        if denied is not None:
            return denied
        try:
            body = await request.json()
        except ValueError:
            body = None
        try:
            target = _target(state, body)
        except ValueError as exc:
            return JSONResponse(
                {"detail": [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]},
                status_code=422,
            )
        try:
            state.advance(target)
        except ClockBackwards as exc:
            return JSONResponse({"detail": str(exc), **state.clock_body()}, status_code=409)
        return state.clock_body()

    return router


denied = _denied
