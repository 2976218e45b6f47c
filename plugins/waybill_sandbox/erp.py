"""ERP endpoints (``/erp``): master data and orders with cursor pagination;
the invoice posting API.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from waybill_sandbox.feeds import decode_token, encode_token
from waybill_sandbox.records import (
    erp_contract,
    erp_credit_holds,
    erp_customer,
    erp_inventory_record,
    erp_order,
    erp_rate_card,
    inventory_snapshot,
)
from waybill_sandbox.state import BadRequest, SandboxState, keyset_page, malform, render
from waybill_sandbox.timefmt import iso_utc, parse_iso
from waybill_sandbox.world import money

AMOUNT_RE = re.compile(r"^-?\d{1,12}\.\d{2}$")
CURRENCIES = ("USD", "CAD", "EUR", "MXN")
MAX_LIMIT = 1000


def _auth(state: SandboxState, authorization: str | None, write: bool) -> JSONResponse | None:
    """None when the bearer token allows the call; else the 401/403 response."""
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if token not in (state.erp_token, state.readonly_token):
        return JSONResponse(
            {"detail": "missing or invalid bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="erp"'},
        )
    if write and token != state.erp_token:
        return JSONResponse({"detail": "token lacks scope invoices:write"}, status_code=403)
    return None


def _since(updated_since: str | None) -> int | None:
    if updated_since is None:
        return None
    try:
        return parse_iso(updated_since)
    except ValueError as exc:
        raise BadRequest(f"updated_since: {exc}") from None


def _small_list_page(
    records: list[dict], id_field: str, cursor: str | None, since: int | None, limit: int
) -> dict:
    """Cursor pagination over a small list ordered by (updated_at, id)."""
    keyed = sorted(((parse_iso(r["updated_at"]), r[id_field]), r) for r in records)
    if cursor:
        try:
            payload = decode_token(cursor)
            after = (int(payload["u"]), str(payload["id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"invalid cursor: {exc}") from None
        keyed = [kr for kr in keyed if kr[0] > after]
    elif since is not None:
        keyed = [kr for kr in keyed if kr[0][0] >= since]
    page = keyed[:limit]
    nxt = encode_token({"u": page[-1][0][0], "id": page[-1][0][1]}) if len(keyed) > limit else None
    return {"data": [r for _, r in page], "next_cursor": nxt}


def build_router(state: SandboxState) -> APIRouter:
    """The ``/erp`` router bound to ``state``."""
    router = APIRouter(prefix="/erp", tags=["erp"])
    world = state.world

    def guarded(authorization: str | None, fn):
        denied = _auth(state, authorization, write=False)
        if denied is not None:
            return denied
        try:
            return fn()
        except BadRequest as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)

    @router.get("/orders", summary="Sales orders, ordered by (updated_at, order_number)")
    def orders(
        authorization: Annotated[str | None, Header()] = None,
        updated_since: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        def page():
            keys, nxt = keyset_page(
                state.indexes.get("erp.orders"), cursor, _since(updated_since), limit
            )

            def one(i: int, _sub: int):
                rec = erp_order(world.shipment(i), world)
                return (
                    malform(rec) if state.malformed("erp", f"orders/{rec['order_number']}") else rec
                )

            return {"data": render(keys, one), "next_cursor": nxt}

        return guarded(authorization, page)

    def small(path: str, id_field: str, producer, summary: str):
        @router.get(path, summary=summary)
        def endpoint(
            authorization: Annotated[str | None, Header()] = None,
            updated_since: str | None = None,
            cursor: str | None = None,
            limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        ):
            return guarded(
                authorization,
                lambda: _small_list_page(
                    producer(), id_field, cursor, _since(updated_since), limit
                ),
            )

        endpoint.__name__ = "erp_" + path.strip("/").replace("-", "_")
        return endpoint

    small(
        "/customers",
        "customer_id",
        lambda: [erp_customer(c, world) for c in world.customers],
        "Customers",
    )
    small(
        "/contracts",
        "contract_id",
        lambda: [erp_contract(c, world) for c in world.customers],
        "Customer contracts",
    )
    small(
        "/rate-cards",
        "rate_card_id",
        lambda: [erp_rate_card(card) for c in world.customers for card in c.rate_cards],
        "Contract rate card versions (SCD2: effective_from/effective_to)",
    )
    small(
        "/credit-holds", "credit_hold_id", lambda: erp_credit_holds(world), "Credit-hold episodes"
    )
    small(
        "/inventory",
        "inventory_id",
        lambda: [
            {**erp_inventory_record(row, world), "inventory_id": f"{row[0]}:{row[1]}"}
            for row in inventory_snapshot(world)
        ],
        "On-hand inventory per location and SKU, as of the world's end",
    )

    @router.post("/invoices", summary="Post a customer invoice (idempotent by Idempotency-Key)")
    async def post_invoice(request: Request):
        denied = _auth(state, request.headers.get("authorization"), write=True)
        if denied is not None:
            return denied
        wait = state.take_rate_token()
        if wait > 0:
            return JSONResponse(
                {"detail": "rate limit exceeded"},
                status_code=429,
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        key = request.headers.get("idempotency-key")
        if not key or not key.strip():
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["header", "Idempotency-Key"],
                            "msg": "header is required",
                            "type": "missing",
                        }
                    ]
                },
                status_code=422,
            )
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return JSONResponse(
                {
                    "detail": [
                        {"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}
                    ]
                },
                status_code=422,
            )
        errors = validate_invoice(body, state)
        if errors:
            return JSONResponse({"detail": errors}, status_code=422)
        digest = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        now = iso_utc(int(time.time()))
        with state.lock:
            existing = state.invoices.get(key)
            if existing is not None:
                if existing["body_sha256"] != digest:
                    return JSONResponse(
                        {
                            "detail": f"Idempotency-Key {key!r} was already used "
                            "with a different body",
                            "document_number": existing["document_number"],
                        },
                        status_code=409,
                    )
                existing["times_posted"] += 1
                existing["last_posted_at"] = now
                return JSONResponse(_receipt(existing), status_code=200)
            state.document_seq += 1
            record = {
                "idempotency_key": key,
                "document_number": f"ERP-INV-{state.document_seq:06d}",
                "invoice_number": body["invoice_number"],
                "customer_id": body["customer_id"],
                "total_amount": body["total_amount"],
                "currency": body["currency"],
                "line_count": len(body["lines"]),
                "body_sha256": digest,
                "times_posted": 1,
                "first_posted_at": now,
                "last_posted_at": now,
            }
            state.invoices[key] = record
        return JSONResponse(_receipt(record), status_code=201)

    @router.get(
        "/invoices", summary="Every invoice the ERP received (for reconciliation and tests)"
    )
    def list_invoices(authorization: Annotated[str | None, Header()] = None):
        denied = _auth(state, authorization, write=False)
        if denied is not None:
            return denied
        with state.lock:
            return sorted(
                (dict(r) for r in state.invoices.values()), key=lambda r: r["document_number"]
            )

    return router


def _receipt(record: dict) -> dict:
    return {
        "document_number": record["document_number"],
        "invoice_number": record["invoice_number"],
        "status": "accepted",
        "idempotency_key": record["idempotency_key"],
    }


def _cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def validate_invoice(body: object, state: SandboxState) -> list[dict]:
    """Field errors of an invoice body (empty when valid), in FastAPI's ``detail`` item shape."""
    errors: list[dict] = []

    def err(loc: list, msg: str, kind: str = "value_error") -> None:
        errors.append({"loc": ["body", *loc], "msg": msg, "type": kind})

    if not isinstance(body, dict):
        err([], "body must be a JSON object", "type_error")
        return errors
    for name in ("invoice_number", "customer_id", "currency", "invoice_date", "total_amount"):
        value = body.get(name)
        if value is None:
            err([name], "field required", "missing")
        elif not isinstance(value, str) or not value.strip():
            err([name], "must be a non-empty string", "type_error")
    customers = {c.customer_id: c for c in state.world.customers}
    customer_id = body.get("customer_id")
    cust = customers.get(customer_id) if isinstance(customer_id, str) else None
    if isinstance(customer_id, str) and customer_id and cust is None:
        err(["customer_id"], f"unknown customer {customer_id!r}")
    currency = body.get("currency")
    if isinstance(currency, str) and currency:
        if currency not in CURRENCIES:
            err(["currency"], f"must be one of {', '.join(CURRENCIES)}")
        elif cust is not None and currency != cust.currency:
            err(["currency"], f"{currency} does not match the customer's currency {cust.currency}")
    inv_date = body.get("invoice_date")
    if isinstance(inv_date, str) and inv_date:
        try:
            date.fromisoformat(inv_date)
            if len(inv_date) != 10:
                raise ValueError
        except ValueError:
            err(["invoice_date"], "must be a date YYYY-MM-DD")
    total = body.get("total_amount")
    total_cents = _cents(total) if isinstance(total, str) and AMOUNT_RE.match(total) else None
    if isinstance(total, str) and total and total_cents is None:
        err(["total_amount"], "must be a decimal string with 2 decimals, e.g. '123.45'")
    lines = body.get("lines")
    if lines is None:
        err(["lines"], "field required", "missing")
        return errors
    if not isinstance(lines, list) or not lines:
        err(["lines"], "must be a non-empty list", "type_error")
        return errors
    line_sum = 0
    sum_ok = True
    seen: set[int] = set()
    for n, line in enumerate(lines):
        if not isinstance(line, dict):
            err(["lines", n], "must be an object", "type_error")
            sum_ok = False
            continue
        ln = line.get("line_number")
        if not isinstance(ln, int) or isinstance(ln, bool) or ln < 1:
            err(["lines", n, "line_number"], "must be a positive integer", "type_error")
        elif ln in seen:
            err(["lines", n, "line_number"], f"duplicate line_number {ln}")
        else:
            seen.add(ln)
        for name in ("shipment_reference", "charge_code", "description"):
            value = line.get(name)
            if value is None:
                err(["lines", n, name], "field required", "missing")
            elif not isinstance(value, str) or (name != "description" and not value.strip()):
                err(["lines", n, name], "must be a non-empty string", "type_error")
        amount = line.get("amount")
        if amount is None:
            err(["lines", n, "amount"], "field required", "missing")
            sum_ok = False
        elif not isinstance(amount, str) or not AMOUNT_RE.match(amount):
            err(["lines", n, "amount"], "must be a decimal string with 2 decimals, e.g. '12.34'")
            sum_ok = False
        else:
            line_sum += _cents(amount)
    if total_cents is not None and sum_ok and total_cents != line_sum:
        err(
            ["total_amount"],
            f"total_amount {total} does not equal the sum of line amounts {money(line_sum)}",
        )
    return errors
