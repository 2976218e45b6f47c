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
    card_published,
    erp_contract,
    erp_credit_holds,
    erp_customer,
    erp_inventory_record,
    erp_order,
    erp_rate_card,
    inventory_snapshot,
)
from waybill_sandbox.reference import ERP_TZ
from waybill_sandbox.state import (
    BadRequest,
    Document,
    SandboxState,
    keyset_page,
    malform,
    render,
)
from waybill_sandbox.timefmt import iso_local, iso_utc, parse_iso
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
            clock = state.clock
            keys, nxt = keyset_page(
                state.indexes.get("erp.orders"),
                cursor,
                _since(updated_since),
                limit,
                clock,
                state.indexes.superseded("erp.orders"),
            )

            def one(i: int, _sub: int):
                rec = erp_order(world.shipment(i), world, clock)
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
        lambda: [erp_customer(c, world, state.clock) for c in world.customers],
        "Customers",
    )
    small(
        "/contracts",
        "contract_id",
        lambda: [erp_contract(c, world, state.clock) for c in world.customers],
        "Customer contracts",
    )
    small(
        "/rate-cards",
        "rate_card_id",
        lambda: [
            erp_rate_card(card)
            for c in world.customers
            for card in c.rate_cards
            if card_published(card) <= state.clock
        ],
        "Contract rate card versions (SCD2: effective_from/effective_to)",
    )
    small(
        "/credit-holds",
        "credit_hold_id",
        lambda: erp_credit_holds(world, state.clock),
        "Credit-hold episodes",
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

    async def post_document(request: Request, kind: str) -> JSONResponse:
        """POST an invoice or credit note: auth, rate limit, Idempotency-Key, body, then accept."""
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
        errors = validate_document(body, state, kind)
        if errors:
            return JSONResponse({"detail": errors}, status_code=422)
        digest = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        now = iso_utc(int(time.time()))
        with state.lock:
            existing = state.invoices.get(key) or state.credit_notes.get(key)
            if existing is not None:
                if existing["body_sha256"] != digest or existing["kind"] != kind:
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
            if kind == "credit_note":
                # Re-checked under the lock: two credits racing must not over-credit together.
                over = _over_credit(body, state)
                if over:
                    return JSONResponse({"detail": over}, status_code=422)
            record = _accept(state, key, body, kind, digest, now)
        return JSONResponse(_receipt(record), status_code=201)

    @router.post("/invoices", summary="Post a customer invoice (idempotent by Idempotency-Key)")
    async def post_invoice(request: Request):
        return await post_document(request, "invoice")

    @router.post(
        "/credit-notes",
        summary="Post a credit note against a posted invoice (idempotent by Idempotency-Key)",
    )
    async def post_credit_note(request: Request):
        return await post_document(request, "credit_note")

    def listing(authorization: str | None, records: dict, external_id: str | None):
        denied = _auth(state, authorization, write=False)
        if denied is not None:
            return denied
        with state.lock:
            return sorted(
                (
                    dict(r)
                    for r in records.values()
                    if external_id is None or r["external_id"] == external_id
                ),
                key=lambda r: r["document_number"],
            )

    @router.get(
        "/invoices", summary="Every invoice the ERP received (for reconciliation and tests)"
    )
    def list_invoices(
        authorization: Annotated[str | None, Header()] = None, external_id: str | None = None
    ):
        return listing(authorization, state.invoices, external_id)

    @router.get("/credit-notes", summary="Every credit note the ERP accepted")
    def list_credit_notes(
        authorization: Annotated[str | None, Header()] = None, external_id: str | None = None
    ):
        return listing(authorization, state.credit_notes, external_id)

    @router.get("/disputes", summary="Customer disputes, ordered by (updated_at, dispute_id)")
    def disputes(
        authorization: Annotated[str | None, Header()] = None,
        updated_since: str | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    ):
        def page():
            state.settle_disputes()
            with state.lock:
                records = [dispute_record(d, state.clock) for d in state.disputes]
            return _small_list_page(records, "dispute_id", cursor, _since(updated_since), limit)

        return guarded(authorization, page)

    return router


def _receipt(record: dict) -> dict:
    number_field = "invoice_number" if record["kind"] == "invoice" else "credit_note_number"
    receipt = {
        "document_number": record["document_number"],
        number_field: record[number_field],
        "status": "accepted",
        "idempotency_key": record["idempotency_key"],
        "external_id": record["external_id"],
    }
    if record["kind"] == "credit_note":
        receipt["original_document_id"] = record["original_document_id"]
    return receipt


def _accept(state: SandboxState, key: str, body: dict, kind: str, digest: str, now: str) -> dict:
    """Record a new document (caller holds ``state.lock``) and return its public record."""
    invoice = kind == "invoice"
    number_field = "invoice_number" if invoice else "credit_note_number"
    if invoice:
        state.document_seq += 1
        number = f"ERP-INV-{state.document_seq:06d}"
    else:
        state.credit_note_seq += 1
        number = f"ERP-CN-{state.credit_note_seq:06d}"
    shipment_ids = list(dict.fromkeys(str(ln["shipment_reference"]) for ln in body["lines"]))
    external_id = body.get("external_id") or body[number_field]
    record = {
        "idempotency_key": key,
        "document_number": number,
        "kind": kind,
        number_field: body[number_field],
        "external_id": external_id,
        "customer_id": body["customer_id"],
        "total_amount": body["total_amount"],
        "currency": body["currency"],
        "line_count": len(body["lines"]),
        "shipment_ids": shipment_ids,
        "body_sha256": digest,
        "times_posted": 1,
        "first_posted_at": now,
        "last_posted_at": now,
        "accepted_at": iso_utc(state.clock),
    }
    original = None
    if not invoice:
        original = body["original_document_id"]
        record.update(
            original_document_id=original,
            reason_code=body["reason_code"],
            dispute_id=body.get("dispute_id"),
            credit_date=body["credit_date"],
        )
    (state.invoices if invoice else state.credit_notes)[key] = record
    doc = Document(
        number,
        kind,
        state.clock,
        _cents(body["total_amount"]),
        body["customer_id"],
        body["currency"],
        external_id,
        shipment_ids,
    )
    state.accept(doc, record, original, key)
    return record


def dispute_record(d: dict, clock: int) -> dict:
    """A dispute as ``GET /erp/disputes`` shows it at ``clock`` (open until its resolve time)."""
    resolved = d["resolve_at"] is not None and d["resolve_at"] <= clock
    return {
        "dispute_id": d["dispute_id"],
        "document_number": d["document_number"],
        "external_id": d["external_id"],
        "customer_id": d["customer_id"],
        "shipment_ids": d["shipment_ids"],
        "reason_code": d["reason_code"],
        "disputed_amount": money(d["disputed_cents"]),
        "currency": d["currency"],
        "status": d["outcome"] if resolved else "open",
        "raised_at": iso_local(d["raised_at"], ERP_TZ),
        "resolved_at": iso_local(d["resolve_at"], ERP_TZ) if resolved else None,
        "updated_at": iso_local(d["resolve_at"] if resolved else d["raised_at"], ERP_TZ),
    }


def _over_credit(body: dict, state: SandboxState) -> list[dict]:
    """The 422 detail when a credit note exceeds its original's open balance (else empty)."""
    doc = state.documents.get(body["original_document_id"])
    if doc is None:
        return []
    total = _cents(body["total_amount"])
    if total > doc.open_cents():
        return [
            {
                "loc": ["body", "total_amount"],
                "msg": f"credit {body['total_amount']} exceeds the open balance "
                f"{money(doc.open_cents())} of {doc.number}",
                "type": "value_error",
            }
        ]
    return []


def _cents(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def validate_invoice(body: object, state: SandboxState) -> list[dict]:
    """Field errors of an invoice body (empty when valid), in FastAPI's ``detail`` item shape."""
    return validate_document(body, state, "invoice")


def validate_document(body: object, state: SandboxState, kind: str) -> list[dict]:
    """Field errors of an invoice or credit-note body (empty when valid), FastAPI ``detail`` items.

    A credit note also needs ``original_document_id`` (a posted invoice of the same customer and
    currency), ``credit_date``, ``reason_code``, positive amounts and a total within the
    original's open balance.
    """
    errors: list[dict] = []
    credit = kind == "credit_note"

    def err(loc: list, msg: str, kind: str = "value_error") -> None:
        errors.append({"loc": ["body", *loc], "msg": msg, "type": kind})

    if not isinstance(body, dict):
        err([], "body must be a JSON object", "type_error")
        return errors
    names = (
        (
            "credit_note_number",
            "customer_id",
            "currency",
            "credit_date",
            "total_amount",
            "original_document_id",
            "reason_code",
        )
        if credit
        else ("invoice_number", "customer_id", "currency", "invoice_date", "total_amount")
    )
    for name in names:
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
    for name in ("external_id", "dispute_id"):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            err([name], "must be a non-empty string when given", "type_error")
    date_field = "credit_date" if credit else "invoice_date"
    inv_date = body.get(date_field)
    if isinstance(inv_date, str) and inv_date:
        try:
            date.fromisoformat(inv_date)
            if len(inv_date) != 10:
                raise ValueError
        except ValueError:
            err([date_field], "must be a date YYYY-MM-DD")
    total = body.get("total_amount")
    total_cents = _cents(total) if isinstance(total, str) and AMOUNT_RE.match(total) else None
    if isinstance(total, str) and total and total_cents is None:
        err(["total_amount"], "must be a decimal string with 2 decimals, e.g. '123.45'")
    if credit and total_cents is not None and total_cents <= 0:
        err(["total_amount"], "a credit note's total_amount must be positive")
    if credit:
        _check_original(body, state, err)
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
            if credit and _cents(amount) <= 0:
                err(["lines", n, "amount"], "a credit note's line amounts must be positive")
    if total_cents is not None and sum_ok and total_cents != line_sum:
        err(
            ["total_amount"],
            f"total_amount {total} does not equal the sum of line amounts {money(line_sum)}",
        )
    if credit and not errors:
        errors.extend(_over_credit(body, state))
    return errors


def _check_original(body: dict, state: SandboxState, err) -> None:
    """The original of a credit note must be a posted invoice of the same customer and currency."""
    original = body.get("original_document_id")
    if not isinstance(original, str) or not original:
        return
    doc = state.documents.get(original)
    if doc is None:
        err(["original_document_id"], f"unknown document {original!r}")
        return
    if doc.kind != "invoice":
        err(["original_document_id"], f"{original} is a {doc.kind}, not an invoice")
        return
    if body.get("customer_id") != doc.customer_id:
        err(["customer_id"], f"does not match {original}'s customer {doc.customer_id}")
    if body.get("currency") != doc.currency:
        err(["currency"], f"does not match {original}'s currency {doc.currency}")
