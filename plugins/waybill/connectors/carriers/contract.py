"""The canonical carrier-event contract: what every carrier normaliser yields, for every channel.

A normaliser (``waybill.connectors.carriers.<format>.normalize``) reads one parsed JSON
document and yields, per tracking event in it, a :class:`CanonicalEvent` or a
:class:`NormalizeError` (a record that could not be normalised, naming its JSON path and
field). A document that is not of the format at all raises :class:`DocumentError`.

Event identity. ``event_id`` is ``<carrier>:<sha256/32>`` over the physical event only:
carrier, tracking number, package unique id, the carrier's most specific event code, the
event time exactly as the carrier gave it, and the location (upper-cased, trimmed). It never
covers the channel, the payload bytes or the source's own message id, so the same scan pulled
over the Track API and pushed by a webhook gets the same id, and a new field appearing in a
feed (schema drift) changes nothing. The source's own id is kept in ``source_event_id``.

Time. ``occurred_at_local`` is the event time as given (text); ``occurred_at_utc`` is set only
when the instant is determinable, by the one rule in :mod:`waybill.connectors.carriers.timezones`
(an explicit offset or UTC in the payload wins; else the zone of the location: city, then
state/province, then country, from the ``location_time_zones`` seed dbt uses; else null — local
time is never taken for UTC). ``time_zone_source`` says which step decided.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from waybill.connectors.carriers.timezones import resolve_time
from waybill.milestones import EXCEPTIONS

if TYPE_CHECKING:
    from datetime import datetime

SOURCE_CHANNELS: tuple[str, ...] = ("api", "webhook", "x12", "csv", "dcsa", "aggregator", "file")
"""The ``source_channel`` values the marts know (``marts.fct_shipment_milestones``)."""

CLASSIFIERS: tuple[str, ...] = ("actual", "estimated", "planned")
"""The ``classifier`` values: the event happened, is expected, or is planned."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where an event happened, as far as the source says; every part may be null."""

    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    unlocode: str | None = None

    def identity(self) -> tuple[str, ...]:
        """Return the parts upper-cased and trimmed (empty for null): the event-id form."""
        return tuple(
            (part or "").strip().upper()
            for part in (self.city, self.state, self.postal_code, self.country, self.unlocode)
        )


@dataclass(frozen=True, slots=True)
class CanonicalEvent:
    """One carrier tracking event in the canonical shape (the package README lists each field)."""

    event_id: str
    carrier: str
    tracking_number: str | None
    package_unique_id: str | None
    milestone: str
    is_exception: bool
    source_code: str
    source_description: str | None
    classifier: str
    reason_code: str | None
    reason_description: str | None
    occurred_at_local: str | None
    occurred_at_utc: str | None
    utc_offset: str | None
    time_zone: str | None
    time_zone_source: str
    location: Location
    source_format: str
    source_channel: str
    source_event_id: str | None = None
    is_retraction: bool = False
    retracts_event_id: str | None = None
    path: str = field(default="$", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dict (the documented keys, in order; ``path`` is left out)."""
        data = asdict(self)
        data.pop("path")
        return data


@dataclass(frozen=True, slots=True)
class NormalizeError:
    """A record that could not be normalised: source file, record's JSON path, field, reason.

    ``carrier_error_code``/``carrier_error_message`` keep the carrier's own code and message
    when the record is a carrier error or warning (UPS ``TW0001``, FedEx ``TRACKING.…``).
    """

    source: str
    path: str
    field: str | None
    message: str
    carrier_error_code: str | None = None
    carrier_error_message: str | None = None

    def __str__(self) -> str:
        """Render ``file: $.path: field 'x': message`` — the line printed on stderr."""
        where = f"{self.source}: {self.path}"
        if self.field:
            where += f": field {self.field!r}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict with the rendered ``text`` and each part."""
        return {
            "text": str(self),
            "source": self.source,
            "path": self.path,
            "field": self.field,
            "message": self.message,
            "carrier_error_code": self.carrier_error_code,
            "carrier_error_message": self.carrier_error_message,
        }


class DocumentError(ValueError):
    """The document is not of the format asked for (``{}``, another carrier's JSON, junk).

    Raised by a normaliser's iterator before it yields anything; ``str()`` says why.
    """


def stable_event_id(
    carrier: str,
    tracking_number: str | None,
    package_unique_id: str | None,
    event_code: str,
    occurred_at_local: str | None,
    location: Location,
) -> str:
    """Return ``<carrier>:<hash>`` over the physical event's identity (see the module doc)."""
    parts = [
        carrier.strip().lower(),
        tracking_number or "",
        package_unique_id or "",
        event_code,
        occurred_at_local or "",
        *location.identity(),
    ]
    payload = json.dumps(parts, separators=(",", ":"))
    return f"{parts[0]}:{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:32]}"


def make_event(
    *,
    carrier: str,
    tracking_number: str | None,
    package_unique_id: str | None = None,
    source_format: str,
    source_channel: str,
    event_code: str,
    source_code: str,
    milestone: str,
    source_description: str | None,
    classifier: str = "actual",
    occurred_at_local: str | None,
    local_moment: datetime | None = None,
    aware_moment: datetime | None = None,
    location: Location | None = None,
    reason_code: str | None = None,
    reason_description: str | None = None,
    is_exception: bool = False,
    source_event_id: str | None = None,
    is_retraction: bool = False,
    retracts_event_id: str | None = None,
    path: str = "$",
) -> CanonicalEvent:
    """Build a :class:`CanonicalEvent`: applies the time-zone rule and derives ``event_id``.

    ``event_code`` is the carrier's most specific raw code (what the id covers, so adding a seed
    row never changes an id); ``source_code``/``milestone`` come from
    :func:`waybill.milestones.lookup`. ``local_moment`` is the naive local time when the payload
    gives one (None for a date only); ``aware_moment`` the instant when the payload carries an
    offset or UTC. ``is_exception`` is or-ed with "the milestone is an exception".
    """
    carrier = carrier.strip().lower()
    place = location or Location()
    resolved = resolve_time(local_moment, aware_moment, place)
    return CanonicalEvent(
        event_id=stable_event_id(
            carrier, tracking_number, package_unique_id, event_code, occurred_at_local, place
        ),
        carrier=carrier,
        tracking_number=tracking_number,
        package_unique_id=package_unique_id,
        milestone=milestone,
        is_exception=is_exception or milestone in EXCEPTIONS,
        source_code=source_code,
        source_description=source_description,
        classifier=classifier,
        reason_code=reason_code,
        reason_description=reason_description,
        occurred_at_local=occurred_at_local,
        occurred_at_utc=resolved.utc,
        utc_offset=resolved.offset,
        time_zone=resolved.zone,
        time_zone_source=resolved.source,
        location=place,
        source_format=source_format,
        source_channel=source_channel,
        source_event_id=source_event_id,
        is_retraction=is_retraction,
        retracts_event_id=retracts_event_id,
        path=path,
    )
