"""Sorted, compact indexes over the streamed world, so every endpoint can page without holding
records.

Each record of a feed is addressed by a 64-bit key ``(epoch << 32) | (shipment << 8) | sub``; a feed
is the sorted ``array('q')`` of its keys, built in one pass over the world the first time any feed
is needed. A page is a bisect into that array followed by regenerating just the shipments it names.

The epoch is when the record becomes visible, so what a sandbox clock shows is a prefix of each
array (:func:`visible_end`). A versioned feed (ERP orders: released, shipped, cancelled) also keeps a
parallel array of when each version is superseded, so no shipment is rebuilt to skip old versions.
"""

from __future__ import annotations

import base64
import json
import threading
from array import array
from bisect import bisect_left
from typing import TYPE_CHECKING

from waybill_sandbox.lifecycle import REVISION_SUB, order_versions, pod_publications

if TYPE_CHECKING:
    from collections.abc import Callable

    from waybill_sandbox.world import Shipment, World

SHIPMENT_BITS = 24
MAX_SUB = 255
NEVER = 1 << 62


def make_key(epoch: int, shipment: int, sub: int = 0) -> int:
    """Pack (epoch, shipment index, sub-record number) into one sortable 64-bit key."""
    return (epoch << 32) | (shipment << 8) | sub


def split_key(key: int) -> tuple[int, int, int]:
    """Inverse of :func:`make_key`."""
    return key >> 32, (key >> 8) & ((1 << SHIPMENT_BITS) - 1), key & MAX_SUB


def encode_token(payload: dict) -> str:
    """Opaque, URL-safe page token/cursor."""
    return (
        base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_token(token: str) -> dict:
    """Decode a token from :func:`encode_token`; raises ``ValueError`` on anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid page token {token[:40]!r}") from exc
    if not isinstance(payload, dict):
        raise ValueError(f"invalid page token {token[:40]!r}")
    return payload


def visible_end(keys, clock: int) -> int:
    """Number of keys whose epoch is at or before ``clock`` (keys are sorted: a bisect)."""
    return bisect_left(keys, (clock + 1) << 32)


def _tms_shipment_keys(s: Shipment, as_of: int) -> list[tuple[int, int]]:
    return [(s.tendered_at, 0)]


def _charge_keys(s: Shipment, as_of: int) -> list[tuple[int, int]]:
    keys = [(c.created_at, k) for k, c in enumerate(s.charges)]
    keys += [(rev.at, REVISION_SUB + j) for j, rev in enumerate(s.charge_revisions)]
    return keys


def _dispute_keys(s: Shipment, as_of: int) -> list[tuple[int, int]]:
    return [(s.dispute.raise_at, 0)] if s.dispute is not None else []


# Feed name -> function(shipment, as_of) returning (epoch, sub) pairs for the records it
# contributes; the epoch is when the record becomes visible.
FEED_KEYS: dict[str, Callable[[Shipment, int], list[tuple[int, int]]]] = {
    "erp.orders": order_versions,
    "erp.dispute_plans": _dispute_keys,
    "wms.shipment_confirmations": lambda s, as_of: (
        [(s.shipped_at, 0)] + ([(s.wms_resent_at, 1)] if s.wms_resent_at is not None else [])
    ),
    "wms.inventory_adjustments": lambda s, as_of: [(a.at, k) for k, a in enumerate(s.adjustments)],
    "tms.shipments": _tms_shipment_keys,
    "tms.rated_charges": _charge_keys,
    "carriers.parcelco.events": lambda s, as_of: (
        [(e.published_at, k) for k, e in enumerate(s.events)]
        if s.carrier.carrier_code == "parcelco"
        else []
    ),
    "carriers.swiftex.events": lambda s, as_of: (
        [(e.published_at, k) for k, e in enumerate(s.events)]
        if s.carrier.carrier_code == "swiftex"
        else []
    ),
    "carriers.tracklane.events": lambda s, as_of: (
        [(e.published_at, k) for k, e in enumerate(s.events)]
        if s.carrier.carrier_code == "tracklane"
        else []
    ),
    "carriers.ridgeline.pods": lambda s, as_of: (
        pod_publications(s) if s.carrier.carrier_code == "ridgeline" else []
    ),
}
# Feeds whose records are versions of one record: a version is hidden once the next is visible.
VERSIONED = ("erp.orders",)


class FeedIndexes:
    """Lazily built sorted key arrays for every feed of one world (thread-safe)."""

    def __init__(self, world: World):
        self.world = world
        self._lock = threading.Lock()
        self._arrays: dict[str, array] | None = None
        self._until: dict[str, array] = {}

    def get(self, feed: str) -> array:
        """Return the sorted key array of ``feed``, building all indexes on first use."""
        if self._arrays is None:
            with self._lock:
                if self._arrays is None:
                    self._arrays = self._build()
        return self._arrays[feed]

    def superseded(self, feed: str) -> array | None:
        """For a versioned feed, when each key (same position as in :meth:`get`) is superseded
        by the record's next version (``NEVER`` when it is the last); None for other feeds."""
        self.get(feed)
        return self._until.get(feed)

    def _build(self) -> dict[str, array]:
        keys: dict[str, array] = {name: array("q") for name in (*FEED_KEYS, "tms.loads")}
        until: dict[str, array] = {name: array("q") for name in VERSIONED}
        as_of = self.world.as_of
        load_tendered = 0
        for s in self.world.iter_shipments():
            # A load appears when the first of its (up to three) shipments is tendered; its key
            # names the block's first shipment.
            load_tendered = s.tendered_at if s.index % 3 == 0 else min(load_tendered, s.tendered_at)
            if s.index % 3 == 2 or s.index == self.world.n - 1:
                keys["tms.loads"].append(make_key(load_tendered, s.index - s.index % 3, 0))
            for name, fn in FEED_KEYS.items():
                bucket = keys[name]
                versions = fn(s, as_of)
                for n, (epoch, sub) in enumerate(versions):
                    bucket.append(make_key(epoch, s.index, sub))
                    if name in until:
                        until[name].append(versions[n + 1][0] if n + 1 < len(versions) else NEVER)
        out = {}
        for name, values in keys.items():
            if name in until:
                pairs = sorted(zip(values, until[name], strict=True))
                out[name] = array("q", (k for k, _ in pairs))
                self._until[name] = array("q", (u for _, u in pairs))
                continue
            # One feed at a time goes through a temporary list, keeping the peak small.
            out[name] = array("q", sorted(values))
        return out
