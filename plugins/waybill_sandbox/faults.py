"""Faults on demand: deterministic for a seed and a request, and always recoverable by retrying.

A request is identified by its system, method, path and query. Its ``attempt``-th occurrence is
faulted when ``unit(seed, "fault", key, attempt) < rate`` and fewer than ``max_consecutive``
attempts of that key have been made, so a client that retries always gets through.
Record- and file-level faults (malformed JSON records, truncated X12 files) depend only on the
seed and the record/file identity, so the truth can list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from waybill_sandbox.rng import unit

SYSTEMS = ("erp", "wms", "tms", "carriers")
REQUEST_KINDS = ("429", "500", "503", "slow")
ALL_KINDS = (*REQUEST_KINDS, "malformed", "truncated")


@dataclass(frozen=True)
class FaultConfig:
    """Fault rates per system (0..1) and which kinds of fault are on."""

    rates: dict[str, float] = field(default_factory=dict)
    kinds: tuple[str, ...] = ALL_KINDS
    slow_seconds: float = 2.5
    retry_after_seconds: int = 1
    max_consecutive: int = 2

    @classmethod
    def parse(cls, spec: FaultConfig | float | str | None, **overrides: object) -> FaultConfig:
        """Build a config from ``0.1`` (every system), ``"erp=0.1,carriers=0.2"`` or an existing
        config.

        Raises ``ValueError`` naming the bad part of ``spec``.
        """
        if isinstance(spec, FaultConfig):
            return spec
        rates: dict[str, float] = {}
        if spec is None or spec == "":
            pass
        elif isinstance(spec, int | float):
            rates = dict.fromkeys(SYSTEMS, float(spec))
        else:
            for part in str(spec).split(","):
                part = part.strip()
                if not part:
                    continue
                if "=" not in part:
                    rates = dict.fromkeys(SYSTEMS, _rate(part, spec))
                    continue
                name, value = (p.strip() for p in part.split("=", 1))
                if name not in SYSTEMS:
                    raise ValueError(
                        f"--faults {spec!r}: unknown system {name!r} (one of {', '.join(SYSTEMS)})"
                    )
                rates[name] = _rate(value, spec)
        config = cls(rates=rates)
        if overrides:
            config = cls(**{**config.__dict__, **overrides})
        for kind in config.kinds:
            if kind not in ALL_KINDS:
                raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(ALL_KINDS)})")
        return config

    def rate(self, system: str) -> float:
        """The fault rate of ``system`` (0 when off)."""
        return self.rates.get(system, 0.0)

    @property
    def enabled(self) -> bool:
        """True when any system has a non-zero rate."""
        return any(v > 0 for v in self.rates.values())

    def request_fault(self, seed: int, system: str, key: str, attempt: int) -> str | None:
        """Return the fault kind for the ``attempt``-th (0-based) request with ``key``, or None."""
        rate = self.rate(system)
        kinds = [k for k in self.kinds if k in REQUEST_KINDS]
        if rate <= 0 or not kinds or attempt >= self.max_consecutive:
            return None
        if unit(seed, "fault", system, key, attempt) >= rate:
            return None
        return kinds[int(unit(seed, "fault-kind", system, key, attempt) * len(kinds))]

    def record_malformed(self, seed: int, system: str, record_key: str) -> bool:
        """True when the JSON record ``record_key`` of ``system`` is served malformed."""
        rate = self.rate(system)
        return (
            "malformed" in self.kinds
            and rate > 0
            and unit(seed, "malformed", system, record_key) < rate / 4
        )

    def file_truncated(self, seed: int, file_name: str) -> bool:
        """True when the carrier file ``file_name`` is dropped truncated."""
        rate = self.rate("carriers")
        return "truncated" in self.kinds and rate > 0 and unit(seed, "truncated", file_name) < rate


def _rate(text: str, spec: object) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--faults {spec!r}: {text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise ValueError(f"--faults {spec!r}: rate {value} outside 0..1")
    return value
