"""The CRM (``/crm``), Salesforce/HubSpot style: shipment-status records and cases upserted by
external id, a bulk (composite) endpoint, OAuth client-credentials tokens, a rate limit in
records per second (429 + ``Retry-After``), optimistic versions (409), field validation (422
naming the field), agents who resolve cases in simulated time, customers' "where is my order?"
contacts, and a ledger of every accepted write.

README.md ("CRM") documents every route and field.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from waybill_sandbox.crm_world import EXCEPTIONS, contacts_of
from waybill_sandbox.feeds import decode_token, encode_token
from waybill_sandbox.rng import stable_int
from waybill_sandbox.timefmt import iso_utc, parse_iso

if TYPE_CHECKING:
    from pathlib import Path

    from waybill_sandbox.state import SandboxState

DEFAULT_CLIENT_ID = "waybill"
DEFAULT_CLIENT_SECRET = "sandbox-crm-secret"  # also accepted as a private-app token (reads, writes)
TOKEN_TTL_S = 3600
MAX_BULK = 200
MAX_LIMIT = 1000

STATUS_PICKLIST = ("Order Received", "In Transit", "Delivered", "Lost")
CASE_TYPES = ("Delay", "Damage", "Loss", "Missing POD", "Billing Hold", "Dispute")
CASE_STATUSES = ("New", "Working", "Exception Cleared", "Closed")
PRIORITIES = ("Low", "Medium", "High", "Critical")
# Resolution codes agents use, per case type (the first for most, the second for a third).
RESOLUTIONS = {
    "Delay": ("customer_notified", "eta_updated"),
    "Damage": ("claim_filed", "reshipped"),
    "Loss": ("claim_filed", "refund_issued"),
    "Missing POD": ("pod_obtained", "pod_waived"),
    "Billing Hold": ("billing_corrected", "customer_notified"),
    "Dispute": ("dispute_reviewed", "customer_notified"),
}
AGENTS = tuple(f"agent-{n:02d}" for n in range(1, 13))

# object -> (required fields, {field: allowed values})
OBJECTS: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "ShipmentStatus": (("order_number", "customer_id", "status"), {"status": STATUS_PICKLIST}),
    "Case": (
        ("order_number", "type", "status", "subject", "sla_due_at"),
        {"type": CASE_TYPES, "status": CASE_STATUSES, "priority": PRIORITIES},
    ),
}
TIME_FIELDS = ("sla_due_at", "exception_raised_at", "milestone_at")


class FieldError(ValueError):
    """A record the CRM refuses (422): ``field`` names the offending field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


class VersionConflict(ValueError):
    """The client's version is not the record's (409)."""

    def __init__(self, current: int):
        super().__init__(f"version conflict: the record is at version {current}")
        self.current = current


@dataclass
class CrmRecord:
    """One stored record: its fields, version and write times (sandbox clock)."""

    object: str
    external_id: str
    fields: dict[str, Any]
    version: int
    created_at: int
    updated_at: int


@dataclass
class CrmState:
    """The CRM's records, tokens, rate-limit bucket, counters and ledger."""

    sandbox: SandboxState
    rate_limit: float = 0.0  # records per second (a bulk call costs one per record); 0 = off
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    ledger: Path | None = None
    records: dict[tuple[str, str], CrmRecord] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    counters: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _bucket: float = -1.0
    _bucket_at: float = 0.0
    _contacts: list[dict] | None = None
    _seq: int = 0

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name`` (caller holds ``lock`` or does not race)."""
        self.counters[name] = self.counters.get(name, 0) + n

    def take(self, cost: int) -> float:
        """Spend ``cost`` tokens: 0 when allowed, else seconds until they are free. The bucket
        holds one second of the rate (at least ``MAX_BULK`` records would never fit: a bulk
        call larger than one second of the rate is refused the same way)."""
        if self.rate_limit <= 0:
            return 0.0
        with self.lock:
            now = time.monotonic()
            if self._bucket < 0:
                self._bucket, self._bucket_at = self.rate_limit, now
            self._bucket = min(
                self.rate_limit, self._bucket + (now - self._bucket_at) * self.rate_limit
            )
            self._bucket_at = now
            if self._bucket >= cost:
                self._bucket -= cost
                return 0.0
            return (cost - self._bucket) / self.rate_limit

    def authorized(self, request: Request) -> bool:
        """True when the bearer token is a live access token or the private-app token."""
        header = request.headers.get("authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if token == self.client_secret:
            return True
        expiry = self.tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def upsert(
        self, obj: str, external_id: str, body: Any, if_match: str | None
    ) -> tuple[int, dict]:
        """Validate and apply one upsert; return (HTTP status 200|201, result body).

        Raises :class:`FieldError` (422) or :class:`VersionConflict` (409). An upsert that
        changes nothing answers 200 with ``changed: false`` and writes no ledger line.
        """
        fields = validate(obj, external_id, body)
        expected = body.pop("version", None) if isinstance(body, dict) else None
        if if_match is not None:
            try:
                expected = int(if_match.strip('"W/ '))
            except ValueError:
                raise FieldError("If-Match", "If-Match must be a record version") from None
        fields.pop("version", None)
        clock = self.sandbox.clock
        with self.lock:
            key = (obj, external_id)
            record = self.records.get(key)
            current = record.version if record else 0
            if expected is not None and expected != current:
                self.count("conflicts")
                raise VersionConflict(current)
            if record is not None and all(record.fields.get(k) == v for k, v in fields.items()):
                self.count("noop_writes")
                return 200, {**render(record, clock), "created": False, "changed": False}
            created = record is None
            if record is None:
                record = CrmRecord(obj, external_id, {}, 0, clock, clock)
                self.records[key] = record
            changed = {k: v for k, v in fields.items() if record.fields.get(k) != v}
            record.fields.update(fields)
            record.version += 1
            record.updated_at = clock
            self.count("writes_accepted")
            self._append_ledger(record, "created" if created else "updated", changed)
            return (201 if created else 200), {
                **render(record, clock),
                "created": created,
                "changed": True,
            }

    def _append_ledger(self, record: CrmRecord, operation: str, changed: dict) -> None:
        """One JSON line per accepted write (caller holds ``lock``)."""
        self._seq += 1
        if self.ledger is None:
            return
        line = {
            "seq": self._seq,
            "object": record.object,
            "external_id": record.external_id,
            "operation": operation,
            "version": record.version,
            "changed": changed,
            "fields": record.fields,
            "accepted_at": iso_utc(self.sandbox.clock),
        }
        with open(self.ledger, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n")

    def contacts(self) -> list[dict]:
        """Every contact of the world, sorted by (contacted_at, contact_id); built once."""
        if self._contacts is None:
            world = self.sandbox.world
            found = [c for s in world.iter_shipments() for c in contacts_of(world.seed, s)]
            self._contacts = sorted(found, key=lambda c: (c["contacted_at"], c["contact_id"]))
        return self._contacts


def validate(obj: str, external_id: str, body: Any) -> dict:
    """The fields of an upsert body, checked; raises :class:`FieldError` naming the field."""
    if obj not in OBJECTS:
        raise FieldError("object", f"unknown object {obj!r}; one of {sorted(OBJECTS)}")
    if not isinstance(body, dict):
        raise FieldError("body", "the body must be a JSON object of fields")
    if not external_id or len(external_id) > 80:
        raise FieldError("external_id", "external_id must be 1..80 characters")
    required, picklists = OBJECTS[obj]
    fields = {k: v for k, v in body.items() if k not in ("external_id", "version")}
    for name in required:
        if fields.get(name) in (None, ""):
            raise FieldError(name, f"{name} is required")
    for name, allowed in picklists.items():
        if name in fields and fields[name] not in allowed:
            raise FieldError(name, f"{name}: {fields[name]!r} is not one of {list(allowed)}")
    for name in TIME_FIELDS:
        if fields.get(name) is not None:
            try:
                parse_iso(str(fields[name]))
            except ValueError:
                raise FieldError(name, f"{name}: not an ISO-8601 instant") from None
    return fields


def resolution(record: CrmRecord) -> tuple[int, str, str]:
    """When an agent resolves this case (epoch), with which code, and who: 4..72 h after it
    was opened, drawn from the external id (the same case resolves the same way every run)."""
    h = stable_int("crm_case", record.external_id)
    case_type = record.fields.get("type", "Delay")
    codes = RESOLUTIONS.get(case_type, ("customer_notified", "customer_notified"))
    at = record.created_at + (4 + h % 69) * 3600
    code = codes[1] if (h >> 8) % 3 == 0 else codes[0]
    return at, code, AGENTS[(h >> 16) % len(AGENTS)]


def render(record: CrmRecord, clock: int) -> dict:
    """A record as the API shows it at ``clock`` (a case with its agent's resolution once due)."""
    out = {
        "external_id": record.external_id,
        "object": record.object,
        **record.fields,
        "version": record.version,
        "created_at": iso_utc(record.created_at),
        "updated_at": iso_utc(record.updated_at),
    }
    if record.object == "Case":
        resolved_at, code, agent = resolution(record)
        if resolved_at <= clock:
            out.update(
                {
                    "status": "Closed",
                    "resolved_at": iso_utc(resolved_at),
                    "resolution_code": code,
                    "resolved_by": agent,
                    "updated_at": iso_utc(max(record.updated_at, resolved_at)),
                }
            )
        else:
            out.update({"resolved_at": None, "resolution_code": None, "resolved_by": None})
    return out


def _error(status: int, message: str, field_name: str | None = None, **headers: str):
    body: dict[str, Any] = {"errors": [{"message": message, "field": field_name}]}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _failed(external_id: Any, status: int, errors: list[dict]) -> dict:
    return {"external_id": external_id, "success": False, "status_code": status, "errors": errors}


def _throttled(crm: CrmState, cost: int) -> JSONResponse | None:
    wait = crm.take(cost)
    if wait <= 0:
        return None
    crm.count("throttled")
    return _error(
        429, "rate limit exceeded", None, **{"Retry-After": str(max(1, round(wait + 0.5)))}
    )


def _page(rows: list[dict], key: str, since: str | None, cursor: str | None, limit: int) -> dict:
    """Keyset page over rows sorted by (updated_at, external id)."""
    keyed = sorted(((parse_iso(r["updated_at"]), r[key]), r) for r in rows)
    if cursor:
        try:
            payload = decode_token(cursor)
            after = (int(payload["u"]), str(payload["id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise FieldError("cursor", f"invalid cursor: {exc}") from None
        keyed = [kr for kr in keyed if kr[0] > after]
    elif since:
        try:
            start = parse_iso(since)
        except ValueError:
            raise FieldError("updated_since", "updated_since: not an ISO-8601 instant") from None
        keyed = [kr for kr in keyed if kr[0][0] >= start]
    page = keyed[:limit]
    nxt = encode_token({"u": page[-1][0][0], "id": page[-1][0][1]}) if len(keyed) > limit else None
    return {"data": [r for _, r in page], "next_cursor": nxt}


def build_router(crm: CrmState) -> APIRouter:
    """The ``/crm`` router bound to ``crm``."""
    router = APIRouter(prefix="/crm", tags=["crm"])

    @router.post("/oauth/token", summary="OAuth 2.0 client credentials → bearer access token")
    async def token(request: Request):
        form = dict(await request.form())
        if form.get("grant_type") != "client_credentials":
            return _error(400, "grant_type must be client_credentials", "grant_type")
        if form.get("client_id") != crm.client_id or form.get("client_secret") != crm.client_secret:
            return _error(401, "invalid client credentials", "client_secret")
        access = secrets.token_urlsafe(24)
        with crm.lock:
            crm.tokens[access] = time.monotonic() + TOKEN_TTL_S
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "issued_at": iso_utc(crm.sandbox.clock),
            "instance_url": str(request.base_url).rstrip("/") + "/crm",
        }

    def guard(request: Request) -> JSONResponse | None:
        crm.count("requests")
        if not crm.authorized(request):
            return _error(401, "missing, invalid or expired bearer token", "Authorization")
        return None

    async def body_of(request: Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    @router.patch(
        "/sobjects/{obj}/external/{external_id}",
        summary="Upsert one record by external id (201 created, 200 updated or unchanged)",
    )
    async def upsert_one(obj: str, external_id: str, request: Request):
        denied = guard(request) or _throttled(crm, 1)
        if denied is not None:
            return denied
        body = await body_of(request)
        try:
            status, result = crm.upsert(obj, external_id, body, request.headers.get("if-match"))
        except FieldError as exc:
            return _error(422, exc.message, exc.field)
        except VersionConflict as exc:
            return _error(409, str(exc), "version")
        return JSONResponse(result, status_code=status, headers={"ETag": f'"{result["version"]}"'})

    @router.get("/sobjects/{obj}/external/{external_id}", summary="Read one record")
    def read_one(obj: str, external_id: str, request: Request):
        denied = guard(request)
        if denied is not None:
            return denied
        record = crm.records.get((obj, external_id))
        if record is None:
            return _error(404, f"no {obj} with external id {external_id!r}", "external_id")
        return JSONResponse(
            render(record, crm.sandbox.clock), headers={"ETag": f'"{record.version}"'}
        )

    @router.post(
        "/composite/sobjects/{obj}",
        summary="Bulk upsert: up to 200 records, each answered on its own (allOrNone false)",
    )
    async def upsert_bulk(obj: str, request: Request):
        denied = guard(request)
        if denied is not None:
            return denied
        body = await body_of(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not 1 <= len(records) <= MAX_BULK:
            return _error(422, f"records must be a list of 1..{MAX_BULK} objects", "records")
        throttled = _throttled(crm, len(records))
        if throttled is not None:
            return throttled
        results = []
        for item in records:
            external_id = item.get("external_id") if isinstance(item, dict) else None
            try:
                status, result = crm.upsert(obj, str(external_id or ""), item, None)
            except FieldError as exc:
                errors = [{"field": exc.field, "message": exc.message}]
                results.append(_failed(external_id, 422, errors))
            except VersionConflict as exc:
                errors = [{"field": "version", "message": str(exc)}]
                results.append(_failed(external_id, 409, errors))
            else:
                results.append(
                    {
                        "external_id": external_id,
                        "success": True,
                        "status_code": status,
                        "created": result["created"],
                        "changed": result["changed"],
                        "version": result["version"],
                        "errors": [],
                    }
                )
        return {"results": results}

    @router.get(
        "/cases", summary="Cases by (updated_at, external id), agents' resolutions included"
    )
    def cases(
        request: Request,
        updated_since: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ):
        denied = guard(request)
        if denied is not None:
            return denied
        clock = crm.sandbox.clock
        rows = [render(r, clock) for (obj, _), r in list(crm.records.items()) if obj == "Case"]
        try:
            return _page(rows, "external_id", updated_since, cursor, max(1, min(limit, MAX_LIMIT)))
        except FieldError as exc:
            return _error(422, exc.message, exc.field)

    @router.get("/contacts", summary="Customers' contacts about shipments, visible at the clock")
    def contacts(
        request: Request,
        updated_since: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ):
        denied = guard(request)
        if denied is not None:
            return denied
        clock = crm.sandbox.clock
        rows = [
            {
                **c,
                "contacted_at": iso_utc(c["contacted_at"]),
                "updated_at": iso_utc(c["contacted_at"]),
            }
            for c in crm.contacts()
            if c["contacted_at"] <= clock
        ]
        try:
            return _page(rows, "contact_id", updated_since, cursor, max(1, min(limit, MAX_LIMIT)))
        except FieldError as exc:
            return _error(422, exc.message, exc.field)

    @router.get("/limits", summary="Rate limit and request counters")
    def limits(request: Request):
        denied = guard(request)
        if denied is not None:
            return denied
        return {
            "rate_limit_records_per_s": crm.rate_limit,
            "max_bulk": MAX_BULK,
            "case_types": list(CASE_TYPES),
            "exceptions": list(EXCEPTIONS),
            "counters": dict(crm.counters),
            "clock": iso_utc(crm.sandbox.clock),
        }

    return router
