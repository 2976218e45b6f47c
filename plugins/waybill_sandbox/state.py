"""Per-app mutable state: the world, its feed indexes, fault bookkeeping, invoices received."""

from __future__ import annotations

import json
import threading
import time
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from waybill_sandbox.feeds import FeedIndexes, decode_token, encode_token, make_key, split_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.world import World


class BadRequest(ValueError):
    """A client error the API answers with 400 and this message."""


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
        admin_token: str | None = None,
        webhook_hosts: frozenset[str] = frozenset(),
    ):
        self.world = world
        self.faults = faults
        self.erp_token = erp_token
        self.readonly_token = readonly_token
        self.webhook_secrets = webhook_secrets
        self.admin_token = admin_token
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
        self._files: dict[str, tuple[str, bytes]] | None = None

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

    def malformed(self, system: str, record_key: str) -> bool:
        """True when this record is served malformed under the configured faults."""
        return self.faults.record_malformed(self.world.seed, system, record_key)

    def files(self) -> dict[str, tuple[str, bytes]]:
        """Carrier X12 files by name: (kind, content), generated once
        (with truncation faults applied).
        """
        if self._files is None:
            from waybill_sandbox.x12 import iter_x12_files

            with self.lock:
                if self._files is None:
                    self._files = {
                        f.name: (f.kind, f.content) for f in iter_x12_files(self.world, self.faults)
                    }
        return self._files


def keyset_page(
    keys, cursor: str | None, since_epoch: int | None, limit: int
) -> tuple[list[int], str | None]:
    """One page of a sorted key array: keys after ``cursor`` (or from ``since_epoch``),
    and the next cursor.
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
    page = list(keys[pos : pos + limit])
    nxt = encode_token({"k": page[-1]}) if page and pos + limit < len(keys) else None
    return page, nxt


def offset_page(keys, offset: int, limit: int) -> list[int]:
    """Keys ``offset .. offset+limit`` of a sorted key array."""
    return list(keys[offset : offset + limit])


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
