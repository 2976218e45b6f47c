"""Sorted, compact indexes over the streamed world, so every endpoint can page without holding
records.

Each record of a feed is addressed by a 64-bit key ``(epoch << 32) | (shipment << 8) | sub``; a feed
is the sorted ``array('q')`` of its keys, built in one pass over the world the first time any feed
is needed. A page is a bisect into that array followed by regenerating just the shipments it names.
"""

from __future__ import annotations

import base64
import json
import threading
from array import array
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from waybill_sandbox.world import Shipment, World

SHIPMENT_BITS = 24
MAX_SUB = 255


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


def _erp_order_updated(s: Shipment, as_of: int) -> int:
    return s.erp_updated_at if s.erp_updated_at <= as_of else s.released_at


# Feed name -> function(shipment, as_of) returning (epoch, sub) pairs for the records it
# contributes.
FEED_KEYS: dict[str, Callable[[Shipment, int], list[tuple[int, int]]]] = {
    "erp.orders": lambda s, as_of: [(_erp_order_updated(s, as_of), 0)],
    "wms.shipment_confirmations": lambda s, as_of: (
        [(s.shipped_at, 0)] + ([(s.wms_resent_at, 1)] if s.wms_resent_at is not None else [])
    ),
    "wms.inventory_adjustments": lambda s, as_of: [(a.at, k) for k, a in enumerate(s.adjustments)],
    "tms.shipments": lambda s, as_of: [(0, 0)],
    "tms.rated_charges": lambda s, as_of: [(c.created_at, k) for k, c in enumerate(s.charges)],
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
    "carriers.ridgeline.pods": lambda s, as_of: (
        [(s.pod_at, 0)] if s.carrier.carrier_code == "ridgeline" and s.pod_at is not None else []
    ),
}


class FeedIndexes:
    """Lazily built sorted key arrays for every feed of one world (thread-safe)."""

    def __init__(self, world: World):
        self.world = world
        self._lock = threading.Lock()
        self._arrays: dict[str, array] | None = None

    def get(self, feed: str) -> array:
        """Return the sorted key array of ``feed``, building all indexes on first use."""
        if self._arrays is None:
            with self._lock:
                if self._arrays is None:
                    self._arrays = self._build()
        return self._arrays[feed]

    def _build(self) -> dict[str, array]:
        keys: dict[str, array] = {name: array("q") for name in FEED_KEYS}
        as_of = self.world.as_of
        for s in self.world.iter_shipments():
            for name, fn in FEED_KEYS.items():
                bucket = keys[name]
                for epoch, sub in fn(s, as_of):
                    bucket.append(make_key(epoch, s.index, sub))
        out = {}
        for name, values in keys.items():
            # One feed at a time goes through a temporary list, keeping the peak small.
            out[name] = array("q", sorted(values))
        return out
