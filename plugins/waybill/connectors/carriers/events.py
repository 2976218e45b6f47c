"""Shared helpers of the carrier normalisers: the typed JSON walker and the record loop.

A normaliser walks one parsed JSON document and yields, for every tracking event in it,
either a :class:`~waybill.connectors.carriers.contract.CanonicalEvent` or a
:class:`~waybill.connectors.carriers.contract.NormalizeError` — never neither, so
``events + errors`` always reconciles with the events the document holds. Errors that
make a whole container unreadable (``trackResponse`` is not an object) are yielded once
for that container's path.

:class:`Field` is the typed reader the normalisers share: it walks the document keeping
the JSON path, so every error names the record and the field. :func:`walk_records` is the
walk's outer loop they share: find the records, read each, turn a bad one into its error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, overload

from waybill.connectors.carriers.contract import CanonicalEvent, DocumentError, NormalizeError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

# ISO-8601 extended local date-time with an optional offset: what FedEx, DCSA and EasyPost send.
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(slots=True)
class NormalizeResult:
    """Everything one document produced, split into events and errors (input order kept)."""

    events: list[CanonicalEvent]
    errors: list[NormalizeError]

    @classmethod
    def collect(cls, items: Iterable[CanonicalEvent | NormalizeError]) -> NormalizeResult:
        """Drain a normaliser's iterator into a result."""
        events: list[CanonicalEvent] = []
        errors: list[NormalizeError] = []
        for item in items:
            if isinstance(item, NormalizeError):
                errors.append(item)
            else:
                events.append(item)
        return cls(events, errors)


class RecordError(Exception):
    """Raised inside a normaliser for one bad record; turned into a :class:`NormalizeError`."""

    def __init__(
        self,
        path: str,
        field_name: str | None,
        message: str,
        *,
        carrier_error_code: str | None = None,
        carrier_error_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.field_name = field_name
        self.message = message
        self.carrier_error_code = carrier_error_code
        self.carrier_error_message = carrier_error_message

    def to_error(self, source: str) -> NormalizeError:
        """Attach the source (file name) and return the yieldable error."""
        return NormalizeError(
            source,
            self.path,
            self.field_name,
            self.message,
            self.carrier_error_code,
            self.carrier_error_message,
        )


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
    read: Callable[[Field], Iterable[CanonicalEvent | NormalizeError]],
) -> Iterator[CanonicalEvent | NormalizeError]:
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


def parse_iso(value: str, node: Field, key: str) -> tuple[datetime | None, datetime | None]:
    """Parse an ISO-8601 date or date-time; return ``(local, aware)``.

    ``local`` is the naive date-time as written (None for a date without a time of day);
    ``aware`` is the instant when the text carries an offset or ``Z``, else None: a time
    without a zone is left to the time-zone rule, never guessed into UTC. Raises
    :class:`RecordError` naming ``key`` when the text is not a valid date.
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
        if hour is None:
            return None, None
        if offset is None:
            return moment, None
        aware = moment.replace(tzinfo=parse_offset(offset))
    except ValueError as exc:
        raise node.error(key, f"is not a valid date-time: {value[:60]!r} ({exc})") from None
    return moment, aware


_OFFSET_RE = re.compile(r"^([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_offset(text: str) -> timezone:
    """Parse ``Z``, ``+02:00``, ``-0500``, ``-5:00`` or ``+05`` into a timezone.

    Raises ``ValueError`` for anything else or an offset beyond ±18:00.
    """
    if text in ("Z", "z"):
        return UTC
    match = _OFFSET_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a UTC offset: {text[:20]!r}")
    hours, minutes = int(match.group(2)), int(match.group(3) or 0)
    if hours > 18 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(delta if match.group(1) == "+" else -delta)


def describe(value: Any) -> str:
    """Name a JSON value's type for an error message (``null``, ``list``, ``str`` …)."""
    return _describe(value)


def carrier_errors(
    node: Field, key: str, source: str, carrier: str, *, kind: str = "error"
) -> Iterator[NormalizeError]:
    """Yield one :class:`NormalizeError` per ``{code, message}`` item of array ``key``.

    For carrier error/warning envelopes (UPS ``response.errors[]``, FedEx ``errors[]``): each
    error names its JSON path and keeps the carrier's code and message. A member that is not an
    array of objects is itself reported.
    """
    try:
        items = list(node.items(key))
    except RecordError as exc:
        yield exc.to_error(source)
        return
    for item in items:
        if not isinstance(item.value, dict):
            yield NormalizeError(source, item.path, None, f"{carrier} {kind} must be an object")
            continue
        code = item.value.get("code")
        message = item.value.get("message") or item.value.get("title") or item.value.get("detail")
        code_text = None if code is None else str(code)
        message_text = None if message is None else str(message)
        yield NormalizeError(
            source,
            item.path,
            None,
            f"{carrier} {kind} {code_text or '(no code)'}: {message_text or '(no message)'}",
            code_text,
            message_text,
        )


def records_of(root: Field, what: str, looks_like: Callable[[Any], bool]) -> list[Field]:
    """Return the elements of array node ``root`` as records, checking it is ``what`` it claims.

    ``what`` names the document kind for the error (``"a USPS Tracking v3 response"``). An
    array whose elements are all unlike a record (``looks_like`` false for every one) is not
    such a document: raises :class:`DocumentError`. An empty array is a valid empty answer.
    """
    items = root.value
    if items and not any(looks_like(item) for item in items):
        raise DocumentError(
            f"not {what}: an array of {len(items)} element(s), none of them a record of it"
        )
    return [Field(item, f"{root.path}[{index}]") for index, item in enumerate(items)]
