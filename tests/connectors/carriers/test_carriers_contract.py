"""The canonical contract: the one time-zone rule and the cross-channel event id."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from waybill.connectors.carriers.contract import (
    CanonicalEvent,
    Location,
    make_event,
    stable_event_id,
)
from waybill.connectors.carriers.timezones import LOCATION_TIME_ZONES_CSV, resolve_time, zone_for

LOCAL = datetime(2024, 7, 1, 12, 0)


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (Location(city="El Paso", state="TX", country="US"), ("America/Denver", "location_city")),
        (Location(city="Houston", state="TX", country="US"), ("America/Chicago", "location_state")),
        (Location(city=None, state="az", country="us"), ("America/Phoenix", "location_state")),
        (Location(city="Gary", state="IN"), ("America/Chicago", "location_city")),
        (Location(city="Rotterdam", country="NL"), ("Europe/Amsterdam", "location_country")),
        (Location(city="Moscow", country="RU"), (None, None)),
        (Location(), (None, None)),
    ],
)
def test_zone_from_city_then_state_then_country(
    place: Location, expected: tuple[str | None, str | None]
) -> None:
    assert zone_for(place.country, place.state, place.city) == expected


def test_zone_table_is_the_dbt_seed_with_its_city_overrides() -> None:
    with LOCATION_TIME_ZONES_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    city_rows = [row for row in rows if row["city"] != "*"]
    assert city_rows, "the seed should hold city overrides"
    for row in city_rows:
        assert zone_for(row["country"], row["state"], row["city"]) == (
            row["time_zone"],
            "location_city",
        )


def test_explicit_offset_wins_over_the_location() -> None:
    aware = LOCAL.replace(tzinfo=timezone(timedelta(hours=-4)))
    resolved = resolve_time(LOCAL, aware, Location(state="AZ", country="US"))
    assert (resolved.utc, resolved.offset, resolved.zone, resolved.source) == (
        "2024-07-01T16:00:00Z",
        "-04:00",
        None,
        "payload",
    )


def test_location_zone_follows_daylight_saving() -> None:
    place = Location(state="NY", country="US")
    summer = resolve_time(LOCAL, None, place)
    winter = resolve_time(datetime(2024, 1, 15, 12, 0), None, place)
    assert (summer.utc, summer.offset) == ("2024-07-01T16:00:00Z", "-04:00")
    assert (winter.utc, winter.offset) == ("2024-01-15T17:00:00Z", "-05:00")


def test_local_time_without_a_known_zone_is_never_taken_for_utc() -> None:
    resolved = resolve_time(LOCAL, None, Location(city="Atlantis"))
    assert (resolved.utc, resolved.offset, resolved.zone, resolved.source) == (
        None,
        None,
        None,
        "unknown",
    )


def test_date_without_time_has_no_instant_but_keeps_the_zone() -> None:
    resolved = resolve_time(None, None, Location(state="CA", country="US"))
    assert (resolved.utc, resolved.zone, resolved.source) == (
        None,
        "America/Los_Angeles",
        "no_time",
    )


def _event(channel: str, **overrides: Any) -> CanonicalEvent:
    fields: dict[str, Any] = {
        "carrier": "UPS",
        "tracking_number": "1Z1",
        "source_format": "ups",
        "source_channel": channel,
        "event_code": "D:F4",
        "source_code": "D",
        "milestone": "delivered",
        "source_description": "DELIVERED",
        "occurred_at_local": "20240701T120000",
        "local_moment": LOCAL,
        "location": Location(city="Paramus", state="NJ", country="US"),
    }
    fields.update(overrides)
    return make_event(**fields)


def test_event_id_ignores_the_channel_and_the_source_message_id() -> None:
    pulled = _event("api", source_event_id="msg-1")
    pushed = _event("webhook", source_event_id="msg-2", source_description="Delivered")
    assert pulled.event_id == pushed.event_id
    assert pulled.carrier == "ups"


@pytest.mark.parametrize(
    "overrides",
    [
        {"package_unique_id": "pkg-2"},
        {"event_code": "D:FS"},
        {"occurred_at_local": "20240701T120001"},
        {"location": Location(city="Wayne", state="NJ", country="US")},
        {"tracking_number": "1Z2"},
    ],
)
def test_event_id_changes_with_each_part_of_the_physical_event(
    overrides: dict[str, object],
) -> None:
    assert _event("api").event_id != _event("api", **overrides).event_id


def test_event_id_normalises_location_case_and_blanks() -> None:
    upper = stable_event_id("ups", "1Z", None, "D", "x", Location(city="PARAMUS ", state="NJ"))
    lower = stable_event_id("UPS", "1Z", None, "D", "x", Location(city="paramus", state="nj"))
    assert upper == lower


def test_exception_milestone_sets_the_flag() -> None:
    assert _event("api", milestone="damaged").is_exception is True
    aware = datetime(2024, 7, 1, 16, 0, tzinfo=UTC)
    assert _event("api", aware_moment=aware).time_zone_source == "payload"


def test_repeated_and_skipped_local_times_follow_the_documented_choice() -> None:
    place = Location(state="NY", country="US")
    repeated = resolve_time(datetime(2024, 11, 3, 1, 30), None, place)
    skipped = resolve_time(datetime(2024, 3, 10, 2, 30), None, place)
    assert (repeated.utc, repeated.offset) == ("2024-11-03T05:30:00Z", "-04:00")
    assert (skipped.utc, skipped.offset) == ("2024-03-10T07:30:00Z", "-05:00")
