"""What connectors hand to the loader: a record to land, or a dead letter explaining why not."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import msgspec


@dataclass(frozen=True, slots=True)
class Record:
    """One source record: its natural key, its payload (a JSON-able dict or JSON text) and where it was read."""

    natural_key: str
    payload: dict[str, Any] | list[Any] | str
    location: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not be landed: where it was, which field, why, and the raw text as received."""

    location: str
    reason: str
    field: str | None = None
    raw: str | None = None


class PayloadError(ValueError):
    """A payload Postgres would reject as JSONB; ``field`` names the offending JSON path when known."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


# Limits that keep hostile records from failing a batch; good data never comes near them.
# A natural key past MAX_KEY_BYTES is stored as its SHA-256 (the original stays in the payload,
# from which every connector reads it): a btree index row holds at most ~2.7 kB, so a long key
# would fail the whole COPY ("index row requires 12048 bytes"). Past MAX_KEY_BYTES_STORED no
# identifier is real: the record is dead-lettered.
MAX_KEY_BYTES = 512
MAX_KEY_BYTES_STORED = 4096
HASHED_KEY_PREFIX = "sha256:"
# Real partner payloads nest < 10 deep; deeper JSON is hostile (and deep enough, it overflows
# the parser's or Postgres's stack).
MAX_JSON_DEPTH = 64

_ENCODER = msgspec.json.Encoder(order="sorted")
# JSONB rejects the escape \u0000; a backslash-escaped backslash before "u0000" is harmless text.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def encode_payload(payload: dict[str, Any] | list[Any] | str) -> tuple[str, str]:
    """Return ``(json_text, payload_hash)`` for a payload; see :func:`encode_payload_bytes`."""
    data, digest = encode_payload_bytes(payload)
    return data.decode("utf-8"), digest


def encode_payload_bytes(payload: dict[str, Any] | list[Any] | str | bytes) -> tuple[bytes, str]:
    """Return ``(json_utf8, payload_hash)`` for a payload, raising :class:`PayloadError` if JSONB cannot hold it.

    The text is canonical — keys sorted, no whitespace — so the same record hashes the same
    however a partner ordered its keys; the hash (MD5 hex of that text) is the dedupe key beside
    the natural key. JSON text input is parsed first. JSONB rejects the NUL character and text
    that is not valid UTF-8 (lone surrogates from undecodable bytes); both are caught here, before
    COPY, so one bad record never aborts a batch.
    """
    if isinstance(payload, str | bytes):
        text = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
        if json_too_deep(text):
            raise PayloadError(f"payload nests deeper than {MAX_JSON_DEPTH} levels", "$")
        try:
            payload = msgspec.json.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise PayloadError(f"payload is not valid JSON: {exc}") from None
        data = _encode(payload)
    else:
        data = _encode(payload)
        if json_too_deep(data):
            raise PayloadError(f"payload nests deeper than {MAX_JSON_DEPTH} levels", "$")
        # msgspec writes inf/nan as null: a number would silently become null. Only a payload
        # whose JSON holds a null can hide one; its MessagePack form (every float as float64:
        # 0xcb, then the IEEE bits) shows in C whether any float has the all-ones exponent of
        # inf/nan, and only then is the payload walked to name the field.
        if b"null" in data and _may_hold_non_finite(payload):
            found = _non_finite(payload)
            if found is not None:
                path, value = found
                raise PayloadError(
                    f"payload holds the non-finite number {value!r} at {path}, which JSON cannot"
                    " carry (it would be stored as null)",
                    path,
                )
    if b"\\u0000" in data and _NUL_ESCAPE.search(data):
        raise PayloadError(
            "payload contains a NUL character, which Postgres JSONB cannot store",
            _nul_path(payload),
        )
    return data, hashlib.md5(data).hexdigest()


def _encode(payload: Any) -> bytes:
    """Canonical JSON bytes of a decoded payload, raising :class:`PayloadError` if impossible."""
    try:
        return _ENCODER.encode(payload)
    except UnicodeEncodeError as exc:
        raise PayloadError(f"payload is not valid UTF-8 text: {exc.reason}") from None
    except RecursionError:
        raise PayloadError(f"payload nests deeper than {MAX_JSON_DEPTH} levels", "$") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise PayloadError(f"payload is not JSON-serialisable: {exc}") from None


def key_text(key: str) -> str:
    """Return the natural key as stored: itself, or ``sha256:<hex>`` when past ``MAX_KEY_BYTES``.

    Raises :class:`PayloadError` (field ``natural_key``) for a key Postgres text cannot hold (NUL,
    not UTF-8) or one past ``MAX_KEY_BYTES_STORED`` bytes. The hash is deterministic, so a
    reloaded record with a long key is still a duplicate.
    """
    if key.isascii() and len(key) <= MAX_KEY_BYTES and "\x00" not in key:
        return key
    if "\x00" in key:
        raise PayloadError("natural key contains a NUL character", "natural_key")
    try:
        data = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadError(f"natural key is not valid UTF-8: {exc.reason}", "natural_key") from None
    if len(data) <= MAX_KEY_BYTES:
        return key
    if len(data) > MAX_KEY_BYTES_STORED:
        raise PayloadError(
            f"natural key is {len(data)} bytes, over the {MAX_KEY_BYTES_STORED}-byte limit",
            "natural_key",
        )
    return HASHED_KEY_PREFIX + hashlib.sha256(data).hexdigest()


# A JSON string, unrolled (no per-character alternation), so its brackets are not counted.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text ``data`` nests arrays/objects deeper than ``limit``.

    Reads the text only (no parse, no recursion), so it is safe on any input: fewer brackets
    than ``limit`` answers at once; otherwise strings are cut out and the brackets counted.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    return max(accumulate(_STEP[b] for b in brackets), default=0) > limit


# MessagePack float64 (0xcb) whose sign+exponent bits are all ones: inf, -inf or a NaN.
_NON_FINITE_FLOAT64 = re.compile(rb"\xcb[\x7f\xff][\xf0-\xff]")


def _may_hold_non_finite(payload: Any) -> bool:
    """Fast pre-check for :func:`_non_finite`: False only when no float can be inf/nan."""
    try:
        return _NON_FINITE_FLOAT64.search(msgspec.msgpack.encode(payload)) is not None
    except (OverflowError, TypeError, ValueError):  # e.g. an int past 64 bits: walk instead
        return True


def _non_finite(payload: Any) -> tuple[str, float] | None:
    """Find the JSON path and value of the first inf/nan float in a decoded payload, or None."""
    stack: list[tuple[Any, str]] = [(payload, "$")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return path, value
        elif isinstance(value, dict):
            stack.extend((item, f"{path}.{key}") for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(value))
    return None


def _nul_path(payload: Any, path: str = "$") -> str | None:
    """Find the JSON path of the first string holding NUL, to name the field in the dead letter."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
        if isinstance(payload, str):
            return path if "\x00" in payload else None
    if isinstance(payload, dict):
        for key, value in payload.items():
            if "\x00" in str(key):
                return f"{path}.{key!r}"
            if isinstance(value, str) and "\x00" in value:
                return f"{path}.{key}"
            if isinstance(value, dict | list):
                found = _nul_path(value, f"{path}.{key}")
                if found:
                    return found
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            if isinstance(value, str) and "\x00" in value:
                return f"{path}[{index}]"
            if isinstance(value, dict | list):
                found = _nul_path(value, f"{path}[{index}]")
                if found:
                    return found
    return None
