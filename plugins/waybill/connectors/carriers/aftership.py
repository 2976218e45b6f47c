"""AfterShip tracking (API responses and ``tracking_update`` webhooks) → canonical events.

Accepted shapes: ``{"meta": …, "data": {"tracking": {…}}}`` (API 2023 and earlier),
``{"meta": …, "data": {"trackings": [...]}}`` (list), ``{"meta": …, "data": {…tracking…}}``
(API 2024 and later), a bare tracking object, and the webhook body
``{"event": "tracking_update", "msg": {…tracking…}}``. Every ``checkpoints[]`` entry is an actual
event coded by its ``subtag`` (``InTransit_007``) then ``tag`` (``InTransit``, ``Delivered``,
``Exception``, …); ``carrier`` is the tracking's courier ``slug``.

Time: AfterShip passes the courier's ``checkpoint_time`` through as ``YYYY-MM-DD``,
``YYYY-MM-DDTHH:MM:SS`` (local, no zone) or with an offset — so all three steps of the time-zone
rule occur here. The country is ISO 3166-1 alpha-3 (``country_iso3``/``country_region``) and is
turned into alpha-2 for the zone table where the table has the country.

A ``meta.code`` other than 200/201 is one error keeping AfterShip's code and message. Anything
else raises :class:`~waybill.connectors.carriers.contract.DocumentError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from waybill.connectors.carriers.contract import (
    CanonicalEvent,
    DocumentError,
    Location,
    NormalizeError,
    make_event,
)
from waybill.connectors.carriers.events import (
    Field,
    RecordError,
    describe,
    parse_iso,
    require_object,
    walk_records,
)
from waybill.milestones import lookup

if TYPE_CHECKING:
    from collections.abc import Iterator

SOURCE_STANDARD = "aftership"
_EXCEPTION_TAGS = {"Exception", "AttemptFail"}
# ISO 3166-1 alpha-3 → alpha-2 for the countries the zone table knows (US states, and the
# one-zone countries); other countries keep their alpha-3 code and resolve no zone.
ALPHA3_TO_ALPHA2 = {
    "USA": "US", "AUT": "AT", "BEL": "BE", "CHE": "CH", "CHN": "CN", "CZE": "CZ", "DEU": "DE",
    "DNK": "DK", "FIN": "FI", "FRA": "FR", "GBR": "GB", "HKG": "HK", "IRL": "IE", "IND": "IN",
    "ITA": "IT", "JPN": "JP", "KOR": "KR", "NLD": "NL", "NOR": "NO", "POL": "PL", "SWE": "SE",
    "SGP": "SG", "TWN": "TW", "ARE": "AE",
}  # fmt: skip
_OK_CODES = {200, 201}


def normalize(
    doc: Any, *, source_channel: str, source: str = "<input>", carrier_code: str | None = None
) -> Iterator[CanonicalEvent | NormalizeError]:
    """Yield one event or error per AfterShip checkpoint in ``doc`` (see the module doc).

    ``source_channel`` is stamped on every event; ``source`` names the document in errors;
    ``carrier_code`` overrides the tracking's ``slug``. Raises :class:`DocumentError` when
    ``doc`` is not an AfterShip tracking document.
    """
    if isinstance(doc, dict) and isinstance(doc.get("meta"), dict):
        code = doc["meta"].get("code")
        if code not in _OK_CODES:
            message = doc["meta"].get("message")
            yield NormalizeError(
                source,
                "$.meta",
                None,
                f"AfterShip error {code}: {message or '(no message)'}",
                None if code is None else str(code),
                message,
            )
            return

    def tracking_events(tracking: Field) -> Iterator[CanonicalEvent | NormalizeError]:
        number = tracking.text("tracking_number", required=True)
        carrier = carrier_code or (tracking.text("slug") or "aftership").lower()
        for node in list(tracking.items("checkpoints")):
            try:
                yield _checkpoint(node, number, carrier, source_channel)
            except RecordError as exc:
                yield exc.to_error(source)

    yield from walk_records(doc, source, _trackings, tracking_events)


def _is_tracking(value: Any) -> bool:
    return isinstance(value, dict) and "tracking_number" in value and "checkpoints" in value


def _trackings(root: Field) -> list[Field]:
    value = root.value
    if isinstance(value, dict) and "event" in value and "msg" in value:
        if value.get("event") != "tracking_update":
            raise DocumentError(
                f"not an AfterShip tracking document: webhook event {value.get('event')!r}"
            )
        return [root.obj("msg", required=True)]
    if isinstance(value, dict) and isinstance(value.get("data"), dict):
        data = root.obj("data")
        if isinstance(data.value.get("tracking"), dict):
            return [data.obj("tracking")]
        if isinstance(data.value.get("trackings"), list):
            return list(data.items("trackings"))
        if _is_tracking(data.value):
            return [data]
    if _is_tracking(value):
        return [root]
    raise DocumentError(
        "not an AfterShip tracking document: no tracking (tracking_number and checkpoints) in"
        f" 'data', 'data.tracking', 'data.trackings' or a tracking_update webhook; got {describe(value)}"
    )


def _checkpoint(node: Field, number: str, carrier: str, channel: str) -> CanonicalEvent:
    checkpoint = require_object(node)
    tag = checkpoint.text("tag", required=True)
    subtag = checkpoint.text("subtag")
    when = checkpoint.text("checkpoint_time", required=True)
    local, aware = parse_iso(when, checkpoint, "checkpoint_time")
    candidates = [subtag, tag] if subtag and subtag != tag else [tag]
    source_code, milestone = lookup(SOURCE_STANDARD, candidates)
    country = checkpoint.text("country_iso3") or checkpoint.text("country_region")
    is_exception = tag in _EXCEPTION_TAGS
    return make_event(
        carrier=carrier,
        tracking_number=number,
        source_format=SOURCE_STANDARD,
        source_channel=channel,
        event_code=candidates[0],
        source_code=source_code,
        milestone=milestone,
        source_description=checkpoint.text("message"),
        occurred_at_local=when,
        local_moment=local,
        aware_moment=aware,
        location=Location(
            city=checkpoint.text("city"),
            state=checkpoint.text("state"),
            postal_code=checkpoint.text("zip") or checkpoint.text("postal_code"),
            country=ALPHA3_TO_ALPHA2.get(country or "", country),
        ),
        reason_code=subtag if is_exception else None,
        reason_description=checkpoint.text("subtag_message") if is_exception else None,
        is_exception=is_exception,
        path=checkpoint.path,
    )
