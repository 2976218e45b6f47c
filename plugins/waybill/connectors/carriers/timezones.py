"""The one time-zone rule for carrier events, over the zone table dbt uses.

Carriers send event times three ways: with an offset or ``Z`` (FedEx, DCSA, EasyPost, Shippo,
UPS ``gmtDate``/``gmtTime``/``gmtOffset``, USPS ``GMTTimestamp``), as bare local time at the
scanning place (UPS ``date``+``time``, many AfterShip and DHL checkpoints), or as a date only.
The rule, decided once and applied to every format:

1. **An explicit offset or UTC in the payload wins** (``time_zone_source = payload``).
2. Else **the zone of the event's location**, from ``dbt_project/seeds/location_time_zones.csv``
   (the seed ``stg_parcelco__tracking_events`` joins through ``location_time_zone_joins``):
   the city's row (country, state, CITY in upper case), else the state/province default
   (city ``*``), else the country default (state ``*`` and city ``*``, only for countries with
   one zone) — ``location_city``, ``location_state`` or ``location_country``. A local time
   repeated when clocks fall back resolves to its first instant and one in the spring-forward
   gap is read with the offset before the gap (``zoneinfo`` with ``fold=0``); dbt must do the
   same when it takes this contract over.
3. Else **unknown**: ``occurred_at_utc`` stays null (``time_zone_source = unknown``); local time
   is never silently taken for UTC. A date without a time of day has no instant either
   (``no_time``), though its zone is still reported when the location gives one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from waybill.milestones import SEEDS_DIR

if TYPE_CHECKING:
    from pathlib import Path

LOCATION_TIME_ZONES_CSV: Path = SEEDS_DIR / "location_time_zones.csv"
ANY = "*"


@dataclass(frozen=True, slots=True)
class TimeResolution:
    """The outcome of the rule: UTC instant, offset, IANA zone and which step decided."""

    utc: str | None
    offset: str | None
    zone: str | None
    source: str


@cache
def zone_table(path: Path = LOCATION_TIME_ZONES_CSV) -> dict[tuple[str, str, str], str]:
    """Read the seed into ``{(country, state, city): time_zone}`` (keys upper-cased).

    Reads ``path`` once per process. Raises ``OSError`` when it cannot be read and
    ``ValueError`` when a zone is not a valid IANA name (so a typo fails loudly, not later).
    """
    table: dict[tuple[str, str, str], str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            zone = row["time_zone"].strip()
            ZoneInfo(zone)  # raises for an unknown zone name
            key = (
                row["country"].strip().upper(),
                row["state"].strip().upper(),
                row["city"].strip().upper(),
            )
            table[key] = zone
    return table


def zone_for(
    country: str | None, state: str | None, city: str | None
) -> tuple[str, str] | tuple[None, None]:
    """Return ``(time_zone, step)`` for a place, ``step`` one of ``location_city|state|country``.

    Without a country the state is looked up in any country (as dbt does with
    ``by_country=false``); ``(None, None)`` when the table knows nothing that fits.
    """
    table = zone_table()
    country_key = (country or "").strip().upper()
    state_key = (state or "").strip().upper()
    city_key = (city or "").strip().upper()
    countries = [country_key] if country_key else sorted({key[0] for key in table})
    for candidate in countries:
        if state_key and city_key and (zone := table.get((candidate, state_key, city_key))):
            return zone, "location_city"
        if state_key and (zone := table.get((candidate, state_key, ANY))):
            return zone, "location_state"
    if country_key and (zone := table.get((country_key, ANY, ANY))):
        return zone, "location_country"
    return None, None


def format_utc(moment: datetime) -> str:
    """Render an aware datetime as ISO-8601 UTC with ``Z`` (microseconds only when non-zero)."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def format_offset(delta: timedelta | None) -> str | None:
    """Render a UTC offset as ``±HH:MM`` (None stays None)."""
    if delta is None:
        return None
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def resolve_time(
    local: datetime | None, aware: datetime | None, location: object
) -> TimeResolution:
    """Apply the rule (module doc) to one event.

    ``local`` is the naive local time of day the payload gives (None for a date only),
    ``aware`` the instant when the payload carries an offset or UTC, ``location`` a
    :class:`~waybill.connectors.carriers.contract.Location`. Reads the zone table; raises nothing.
    """
    if aware is not None:
        return TimeResolution(format_utc(aware), format_offset(aware.utcoffset()), None, "payload")
    zone, step = zone_for(
        getattr(location, "country", None),
        getattr(location, "state", None),
        getattr(location, "city", None),
    )
    if local is None:
        return TimeResolution(None, None, zone, "no_time")
    if zone is None or step is None:
        return TimeResolution(None, None, None, "unknown")
    moment = local.replace(tzinfo=ZoneInfo(zone))
    return TimeResolution(format_utc(moment), format_offset(moment.utcoffset()), zone, step)
