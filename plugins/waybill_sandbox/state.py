"""Per-app mutable state: the world, its feed indexes, the clock, fault bookkeeping, and the ERP's
documents (invoices, credit notes), disputes and ledger."""

from __future__ import annotations

import json
import threading
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from waybill_sandbox.feeds import (
    FeedIndexes,
    decode_token,
    encode_token,
    make_key,
    split_key,
    visible_end,
)
from waybill_sandbox.timefmt import iso_utc

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.world import World


class BadRequest(ValueError):
    """A client error the API answers with 400 and this message."""


class ClockBackwards(ValueError):
    """The clock was asked to move backwards (the API answers 409)."""


@dataclass
class Document:
    """What the ERP keeps of an accepted document beyond its public record."""

    number: str
    kind: str  # invoice | credit_note
    accepted_at: int  # sandbox clock
    total_cents: int
    customer_id: str
    currency: str
    external_id: str
    shipment_ids: list[str]
    credits: list[tuple[int, int]] = field(default_factory=list)  # (accepted_at, cents)

    def open_cents(self, before: int | None = None) -> int:
        """Total minus credits accepted against it (only those accepted before ``before``)."""
        return self.total_cents - sum(
            cents for at, cents in self.credits if before is None or at < before
        )


class SandboxState:
    """Everything one app instance serves from and remembers."""

    def __init__(
        self,
        world: World,
        faults: FaultConfig,
        erp_token: str,
        readonly_token: str,
        webhook_secrets: dict[str, str],
        erp_rate_limit: float,
        inbound: Path | None,
        clock: int | None = None,
        ledger: Path | None = None,
        webhook_hosts: frozenset[str] = frozenset(),
    ):
        self.world = world
        self.faults = faults
        self.erp_token = erp_token
        self.readonly_token = readonly_token
        self.webhook_secrets = webhook_secrets
        self.webhook_hosts = webhook_hosts
        self.erp_rate_limit = erp_rate_limit
        self.inbound = inbound
        self.indexes = FeedIndexes(world)
        self.lock = threading.Lock()
        self.attempts: dict[str, int] = {}
        self.invoices: dict[str, dict] = {}
        self.document_seq = 0
        self._bucket_tokens = erp_rate_limit
        self._bucket_at = time.monotonic()
        self._files: dict[str, tuple[str, bytes, int]] | None = None
        self.horizon = world.as_of
        self.clock = self.horizon if clock is None else clock
        if not world.start_epoch <= self.clock <= self.horizon:
            raise ValueError(
                f"clock {iso_utc(self.clock)} outside the world's window "
                f"{iso_utc(world.start_epoch)}..{iso_utc(self.horizon)}"
            )
        self.ledger = ledger
        self.credit_notes: dict[str, dict] = {}
        self.credit_note_seq = 0
        self.documents: dict[str, Document] = {}
        self.invoices_of_shipment: dict[str, list[str]] = {}
        self.disputes: list[dict] = []
        self._dispute_pos = 0

    def next_attempt(self, key: str) -> int:
        """Return how many times ``key`` was requested before (and count this one)."""
        with self.lock:
            n = self.attempts.get(key, 0)
            self.attempts[key] = n + 1
            return n

    def take_rate_token(self) -> float:
        """Token bucket for invoice posting: 0 when allowed, else seconds until a token is free."""
        if self.erp_rate_limit <= 0:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self._bucket_tokens = min(
                self.erp_rate_limit,
                self._bucket_tokens + (now - self._bucket_at) * self.erp_rate_limit,
            )
            self._bucket_at = now
            if self._bucket_tokens >= 1:
                self._bucket_tokens -= 1
                return 0.0
            return (1 - self._bucket_tokens) / self.erp_rate_limit

    def advance(self, to: int) -> int:
        """Move the clock to ``to`` (clamped to the horizon); raise ``ClockBackwards`` if earlier.

        Disputes whose raise time the clock passes are decided on the way (see
        :meth:`settle_disputes`). Returns the new clock.
        """
        with self.lock:
            if to < self.clock:
                raise ClockBackwards(
                    f"the clock never goes backwards: {iso_utc(to)} is before {iso_utc(self.clock)}"
                )
            self.clock = min(to, self.horizon)
        self.settle_disputes()
        return self.clock

    def clock_body(self) -> dict:
        """The clock as ``GET /admin/clock`` answers it."""
        return {
            "clock": iso_utc(self.clock),
            "start": iso_utc(self.world.start_epoch),
            "horizon": iso_utc(self.horizon),
        }

    def accept(self, doc: Document, record: dict, original: str | None, key: str) -> None:
        """Register a newly accepted document (caller holds ``lock``) and append it to the ledger."""
        self.documents[doc.number] = doc
        if doc.kind == "invoice":
            for ref in doc.shipment_ids:
                self.invoices_of_shipment.setdefault(ref, []).append(doc.number)
        elif original is not None:
            self.documents[original].credits.append((doc.accepted_at, doc.total_cents))
        if self.ledger is not None:
            line = {
                "document_id": doc.number,
                "kind": doc.kind,
                "external_id": doc.external_id,
                "original_document_id": original,
                "amount": record["total_amount"],
                "currency": doc.currency,
                "idempotency_key": key,
                "shipment_ids": doc.shipment_ids,
                "accepted_at": record["accepted_at"],
            }
            with open(self.ledger, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, separators=(",", ":")) + "\n")
                fh.flush()

    def live_invoice(self, order_number: str, before: int) -> Document | None:
        """The shipment's live invoice just before ``before``: the latest accepted invoice naming it
        with an open balance > 0 (counting only documents accepted before ``before``)."""
        best = None
        for number in self.invoices_of_shipment.get(order_number, []):
            doc = self.documents[number]
            if (
                doc.accepted_at < before
                and doc.open_cents(before) > 0
                and (
                    best is None or (doc.accepted_at, doc.number) > (best.accepted_at, best.number)
                )
            ):
                best = doc
        return best

    def settle_disputes(self) -> None:
        """Raise the planned disputes whose time the clock has reached, in raise order.

        A plan becomes a dispute only against the ERP's live invoice for the shipment at its raise
        time (documents accepted before it); otherwise nothing is raised. Resolution needs no
        bookkeeping: a dispute's status is rendered from its resolve time and the clock.
        """
        keys = self.indexes.get("erp.dispute_plans")
        with self.lock:
            end = visible_end(keys, self.clock)
            for pos in range(self._dispute_pos, end):
                _, i, _ = split_key(keys[pos])
                s = self.world.shipment(i)
                plan = s.dispute
                if plan is None:
                    continue
                doc = self.live_invoice(s.order_number, plan.raise_at)
                if doc is None:
                    continue
                amount = min(
                    (doc.total_cents * plan.pct + 50) // 100, doc.open_cents(plan.raise_at)
                )
                if amount <= 0:
                    continue
                self.disputes.append(
                    {
                        "dispute_id": f"DSP-{len(self.disputes) + 1:06d}",
                        "document_number": doc.number,
                        "external_id": doc.external_id,
                        "customer_id": doc.customer_id,
                        "shipment_ids": list(doc.shipment_ids),
                        "reason_code": plan.reason,
                        "disputed_cents": amount,
                        "currency": doc.currency,
                        "raised_at": plan.raise_at,
                        "resolve_at": plan.resolve_at,
                        "outcome": plan.outcome,
                    }
                )
            self._dispute_pos = max(self._dispute_pos, end)

    def malformed(self, system: str, record_key: str) -> bool:
        """True when this record is served malformed under the configured faults."""
        return self.faults.record_malformed(self.world.seed, system, record_key)

    def files(self) -> dict[str, tuple[str, bytes]]:
        """Carrier X12 files released by the clock, by name: (kind, content). Generated once (with
        truncation faults applied); a file is released at the latest publication time it carries.
        """
        if self._files is None:
            from waybill_sandbox.x12 import iter_x12_files

            with self.lock:
                if self._files is None:
                    self._files = {
                        f.name: (f.kind, f.content, f.created_at)
                        for f in iter_x12_files(self.world, self.faults)
                    }
        clock = self.clock
        return {
            name: (kind, data)
            for name, (kind, data, released) in self._files.items()
            if released <= clock
        }


def keyset_page(
    keys,
    cursor: str | None,
    since_epoch: int | None,
    limit: int,
    clock: int | None = None,
    superseded=None,
) -> tuple[list[int], str | None]:
    """One page of a sorted key array: keys after ``cursor`` (or from ``since_epoch``),
    and the next cursor.

    Only keys visible at ``clock`` (epoch <= clock; all when None) are served, and with
    ``superseded`` (a versioned feed) only the versions not yet replaced at ``clock``. Records that
    become visible later sort after every visible one, so a cursor resumed after the clock advances
    continues exactly where it stopped.
    """
    if cursor:
        try:
            last = int(decode_token(cursor)["k"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"invalid cursor: {exc}") from None
        pos = bisect_right(keys, last)
    elif since_epoch is not None:
        pos = bisect_left(keys, make_key(since_epoch, 0, 0))
    else:
        pos = 0
    end = len(keys) if clock is None else visible_end(keys, clock)
    if superseded is None or clock is None:
        page = list(keys[pos : min(pos + limit, end)])
        scan = pos + len(page)
    else:
        page = []
        scan = pos
        while scan < end and len(page) < limit:
            if superseded[scan] > clock:
                page.append(keys[scan])
            scan += 1
        while scan < end and superseded[scan] <= clock:
            scan += 1
    nxt = encode_token({"k": page[-1]}) if page and scan < end else None
    return page, nxt


def offset_page(keys, offset: int, limit: int, clock: int | None = None) -> tuple[int, list[int]]:
    """(number of keys visible at ``clock``, keys ``offset .. offset+limit`` among them)."""
    end = len(keys) if clock is None else visible_end(keys, clock)
    return end, list(keys[offset : min(offset + limit, end)])


def render(keys: list[int], fn: Callable[[int, int], dict]) -> list[dict]:
    """Render each key as a record via ``fn(shipment_index, sub)``."""
    out = []
    for key in keys:
        _, i, sub = split_key(key)
        out.append(fn(i, sub))
    return out


def malform(record: dict) -> str:
    """A malformed JSON record: the record's JSON text cut short, served as a string."""
    text = json.dumps(record, separators=(",", ":"))
    return text[: max(12, len(text) * 3 // 5)]
