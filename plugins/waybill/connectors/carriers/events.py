"""The canonical tracking event every carrier normaliser yields, its error, and shared helpers.

A normaliser walks one parsed JSON document and yields, for every tracking event in it,
either a :class:`CarrierEvent` or a :class:`NormalizeError` — never neither, so
``events + errors`` always reconciles with the events the document holds. Errors that
make a whole container unreadable (``trackResponse`` is not an object) are yielded once
for that container's path.

:class:`Field` is the typed reader the normalisers share: it walks the document keeping
the JSON path, so every error names the record and the field. :func:`walk_records` is the
walk's outer loop they share: find the records, read each, turn a bad one into its error.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

CLASSIFIERS = ("actual", "estimated", "planned")

# ISO-8601 extended local date-time with an optional offset: what FedEx, DCSA and EasyPost send.
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True, slots=True)
class Location:
    """Where an event happened, as far as the source says; every part may be null."""

    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    unlocode: str | None = None


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    """One tracking event in the canonical shape (see the package README for each field)."""

    tracking_number: str | None
    carrier_code: str
    source_standard: str
    source_code: str
    source_description: str | None
    milestone: str
    classifier: str
    event_at_utc: str | None
    event_at_local: str | None
    utc_offset: str | None
    location: Location
    reason_code: str | None
    reason_description: str | None
    event_id: str
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
    """A record that could not be normalised: the source file, the record's JSON path, the field."""

    source: str
    path: str
    field: str | None
    message: str

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
        }


@dataclass(slots=True)
class NormalizeResult:
    """Everything one document produced, split into events and errors (input order kept)."""

    events: list[CarrierEvent]
    errors: list[NormalizeError]

    @classmethod
    def collect(cls, items: Iterable[CarrierEvent | NormalizeError]) -> NormalizeResult:
        """Drain a normaliser's iterator into a result."""
        events: list[CarrierEvent] = []
        errors: list[NormalizeError] = []
        for item in items:
            if isinstance(item, NormalizeError):
                errors.append(item)
            else:
                events.append(item)
        return cls(events, errors)


class RecordError(Exception):
    """Raised inside a normaliser for one bad record; turned into a :class:`NormalizeError`."""

    def __init__(self, path: str, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.field_name = field_name
        self.message = message

    def to_error(self, source: str) -> NormalizeError:
        """Attach the source (file name) and return the yieldable error."""
        return NormalizeError(source, self.path, self.field_name, self.message)


def _describe(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _clean_text(value: str, path: str, name: str) -> str:
    # Postgres JSONB cannot hold NUL or lone surrogates; reject here so the loader never sees them.
    if "\x00" in value:
        raise RecordError(path, name, "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordError(path, name, "is not valid UTF-8 text") from None
    return value


class Field:
    """A node of the JSON document with its path; typed getters raise :class:`RecordError`.

    ``record`` is the path of the record being normalised (what the error names as the
    record); field names in errors are relative to it, e.g. ``status.type``.
    """

    __slots__ = ("path", "record", "value")

    def __init__(self, value: Any, path: str = "$", record: str | None = None) -> None:
        self.value = value
        self.path = path
        self.record = record if record is not None else path

    def _relative(self, key: str) -> str:
        prefix = self.path[len(self.record) :].lstrip(".")
        return f"{prefix}.{key}" if prefix else key

    def as_record(self) -> Field:
        """Return this node as a record root: field names in errors become relative to it."""
        return Field(self.value, self.path, self.path)

    def child(self, key: str, *, required: bool = False, kind: type | None = None) -> Field:
        """Return the member ``key`` of this object (missing or null → a Field holding None).

        A null node has only null members, so optional containers can be walked without checks.
        Raises :class:`RecordError` when this node is not an object, when ``required`` and the
        member is missing/null, or when ``kind`` is given and the value has another type.
        """
        name = self._relative(key)
        if self.value is None:
            # A missing optional container means its members are missing too.
            if required:
                raise RecordError(self.record, name, "is missing")
            return Field(None, f"{self.path}.{key}", self.record)
        if not isinstance(self.value, dict):
            raise RecordError(self.record, name, f"parent is {_describe(self.value)}, not object")
        value = self.value.get(key)
        if value is None and required:
            raise RecordError(self.record, name, "is missing")
        if value is not None and kind is not None and not isinstance(value, kind):
            json_names: dict[type, str] = {dict: "object", list: "array", str: "string"}
            expected = json_names.get(kind, kind.__name__)
            raise RecordError(self.record, name, f"must be {expected}, got {_describe(value)}")
        return Field(value, f"{self.path}.{key}", self.record)

    def obj(self, key: str, *, required: bool = False) -> Field:
        """Return member ``key`` as an object node (see :meth:`child`)."""
        return self.child(key, required=required, kind=dict)

    def items(self, key: str, *, required: bool = False) -> Iterator[Field]:
        """Yield the elements of array member ``key``, each with its indexed path."""
        node = self.child(key, required=required, kind=list)
        for index, item in enumerate(node.value or ()):
            yield Field(item, f"{node.path}[{index}]", self.record)

    @overload
    def text(self, key: str, *, required: Literal[True]) -> str: ...

    @overload
    def text(self, key: str, *, required: bool = False) -> str | None: ...

    def text(self, key: str, *, required: bool = False) -> str | None:
        """Return string member ``key``, stripped; empty or missing gives None.

        Raises :class:`RecordError` for a non-string value, NUL characters, or when
        ``required`` and the value is missing, null or blank.
        """
        node = self.child(key, kind=str)
        name = self._relative(key)
        if node.value is None:
            if required:
                raise RecordError(self.record, name, "is missing")
            return None
        value = _clean_text(node.value, self.record, name).strip()
        if not value:
            if required:
                raise RecordError(self.record, name, "is empty")
            return None
        return value

    def raw_text(self, key: str) -> str | None:
        """Return string member ``key`` exactly as sent (no stripping); None when missing."""
        node = self.child(key, kind=str)
        if node.value is None:
            return None
        return _clean_text(node.value, self.record, self._relative(key))

    def error(self, key: str | None, message: str) -> RecordError:
        """Build a :class:`RecordError` for member ``key`` of this node."""
        return RecordError(self.record, self._relative(key) if key else None, message)


def require_object(node: Field) -> Field:
    """Return ``node`` as a record root, raising :class:`RecordError` if it is not an object."""
    if not isinstance(node.value, dict):
        raise RecordError(node.path, None, f"record must be an object, got {_describe(node.value)}")
    return node.as_record()


def walk_records(
    doc: Any,
    source: str,
    find: Callable[[Field], Iterable[Field]],
    read: Callable[[Field], Iterable[CarrierEvent | NormalizeError]],
) -> Iterator[CarrierEvent | NormalizeError]:
    """Yield what ``read`` yields for each top-level record ``find`` lists in ``doc``.

    ``find`` gets the document root and returns the record nodes; a :class:`RecordError` it
    raises (a broken container) is yielded once, naming ``source``, and ends the walk.
    ``read`` gets each record as an object record root; a record that is not an object, or
    a :class:`RecordError` ``read`` raises, becomes that record's error and the walk goes on.
    """
    try:
        nodes = list(find(Field(doc)))
    except RecordError as exc:
        yield exc.to_error(source)
        return
    for node in nodes:
        try:
            yield from read(require_object(node))
        except RecordError as exc:
            yield exc.to_error(source)


def parse_iso(value: str, node: Field, key: str) -> tuple[str | None, str | None]:
    """Parse an ISO-8601 date or date-time; return ``(event_at_utc, utc_offset)``.

    The UTC value is ``YYYY-MM-DDTHH:MM:SSZ`` (fractions kept to microseconds) when the text
    carries an offset or ``Z``, else None: a time without a zone is not guessed into UTC.
    The offset is returned as sent (``Z`` stays ``Z``). Raises :class:`RecordError` naming
    ``key`` when the text is not a valid date.
    """
    match = _ISO_RE.match(value)
    if not match:
        raise node.error(key, f"is not an ISO-8601 date-time: {value[:60]!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
        if offset is None or hour is None:
            return None, offset
        if offset == "Z":
            tz = UTC
        else:
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:])
            if hours > 18 or minutes > 59:
                raise ValueError("offset out of range")
            delta = timedelta(hours=hours, minutes=minutes)
            tz = timezone(delta if offset[0] == "+" else -delta)
        aware = moment.replace(tzinfo=tz)
    except ValueError as exc:
        raise node.error(key, f"is not a valid date-time: {value[:60]!r} ({exc})") from None
    return format_utc(aware), offset


def format_utc(moment: datetime) -> str:
    """Render an aware datetime as ISO-8601 UTC with ``Z`` (microseconds only when non-zero)."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def stable_event_id(prefix: str, *parts: Any) -> str:
    """Return ``<prefix>:<hash>``: a stable id for a source event that has none.

    The hash covers the normalised identity of the event (tracking number, raw codes, time as
    sent, place), not the raw JSON, so a new field appearing in the feed (schema drift) does
    not turn a re-polled event into a new one.
    """
    payload = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"{prefix}:{hashlib.sha256(payload.encode('utf-8')).hexdigest()[:32]}"
