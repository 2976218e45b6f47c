"""Time helpers: the world keeps every instant as UTC epoch seconds and formats per system."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """Return the (cached) ``ZoneInfo`` for an IANA name."""
    return ZoneInfo(name)


def local_epoch(day: date, hour: int, minute: int, tz: str) -> int:
    """Return the epoch seconds of ``day`` at ``hour:minute`` wall-clock time in ``tz``."""
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone(tz)).timestamp())


def local_dt(epoch: int, tz: str) -> datetime:
    """Return the aware datetime of ``epoch`` in ``tz``."""
    return datetime.fromtimestamp(epoch, zone(tz))


def iso_local(epoch: int, tz: str) -> str:
    """ISO-8601 with the zone's UTC offset, e.g. ``2025-01-06T17:30:00-06:00``."""
    return datetime.fromtimestamp(epoch, zone(tz)).isoformat()


def iso_naive_local(epoch: int, tz: str) -> str:
    """Local wall-clock time without an offset (``2025-01-06 17:30:00``), as the TMS reports it."""
    return datetime.fromtimestamp(epoch, zone(tz)).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(epoch: int) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int:
    """Parse an ISO-8601 timestamp (offset or ``Z``; naive is taken as UTC) into epoch seconds.

    Raises ``ValueError`` with the offending text when it cannot be parsed.
    """
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def local_date(epoch: int, tz: str) -> date:
    """Return the calendar date of ``epoch`` in ``tz``."""
    return datetime.fromtimestamp(epoch, zone(tz)).date()
