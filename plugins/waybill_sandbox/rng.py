"""Stable, seed-derived randomness: the same (seed, keys) gives the same numbers on every machine.

Python's built-in ``hash()`` is salted per process, so every derived seed here goes through BLAKE2b.
"""

from __future__ import annotations

import hashlib
import random


def stable_int(*parts: object) -> int:
    """Return a 64-bit integer derived from ``parts`` (their ``str()`` joined),
    identical across runs.
    """
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def unit(*parts: object) -> float:
    """Return a float in [0, 1) derived from ``parts``;
    used for per-request and per-record decisions.
    """
    return stable_int(*parts) / 2**64


def rng_for(*parts: object) -> random.Random:
    """Return a ``random.Random`` seeded from ``parts`` (e.g. ``rng_for(seed, "shipment", i)``)."""
    return random.Random(stable_int(*parts))
