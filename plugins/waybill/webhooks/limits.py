"""The receiver's limits: body size, JSON depth, signature age, read timeouts, concurrency.

Each has a default that no real carrier delivery comes near and an environment variable:

| variable | default | what happens past it |
| --- | --- | --- |
| ``WAYBILL_WEBHOOK_MAX_BODY_BYTES`` | 1 MiB | 413, before reading (Content-Length) or as soon as the stream passes it |
| ``WAYBILL_WEBHOOK_TOLERANCE_S`` | 300 | a signature timestamp further from now is refused (401) |
| ``WAYBILL_WEBHOOK_HEADER_TIMEOUT_S`` | 10 | a client that has not sent its headers by then is disconnected |
| ``WAYBILL_WEBHOOK_BODY_TIMEOUT_S`` | 10 | a body not received by then is answered 408 |
| ``WAYBILL_WEBHOOK_CONCURRENCY`` | 64 | more connections at once are answered 503 |

The JSON depth limit is the loader's (``waybill.load.records.MAX_JSON_DEPTH``): deeper is 422 and
a dead letter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from waybill.webhooks.signatures import DEFAULT_TOLERANCE_S


@dataclass(frozen=True)
class Limits:
    """The receiver's limits (see the module docstring)."""

    max_body_bytes: int = 1 << 20
    tolerance_s: float = DEFAULT_TOLERANCE_S
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    concurrency: int = 64

    @classmethod
    def from_env(cls) -> Limits:
        """Read the ``WAYBILL_WEBHOOK_*`` overrides; raises ``ValueError`` for one that is not a number."""
        default = cls()

        def number(name: str, value: float) -> float:
            raw = os.environ.get(f"WAYBILL_WEBHOOK_{name}")
            if raw is None or not raw.strip():
                return value
            try:
                parsed = float(raw)
            except ValueError:
                raise ValueError(f"WAYBILL_WEBHOOK_{name} must be a number, got {raw!r}") from None
            if parsed <= 0:
                raise ValueError(f"WAYBILL_WEBHOOK_{name} must be positive, got {raw!r}")
            return parsed

        return cls(
            max_body_bytes=int(number("MAX_BODY_BYTES", default.max_body_bytes)),
            tolerance_s=number("TOLERANCE_S", default.tolerance_s),
            header_timeout_s=number("HEADER_TIMEOUT_S", default.header_timeout_s),
            body_timeout_s=number("BODY_TIMEOUT_S", default.body_timeout_s),
            concurrency=int(number("CONCURRENCY", default.concurrency)),
        )
