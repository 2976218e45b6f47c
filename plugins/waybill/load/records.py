"""What connectors hand to the loader: a record to land, or a dead letter explaining why not."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
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
        try:
            payload = msgspec.json.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise PayloadError(f"payload is not valid JSON: {exc}") from None
    try:
        data = _ENCODER.encode(payload)
    except UnicodeEncodeError as exc:
        raise PayloadError(f"payload is not valid UTF-8 text: {exc.reason}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise PayloadError(f"payload is not JSON-serialisable: {exc}") from None
    if b"\\u0000" in data and _NUL_ESCAPE.search(data):
        raise PayloadError(
            "payload contains a NUL character, which Postgres JSONB cannot store",
            _nul_path(payload),
        )
    return data, hashlib.md5(data).hexdigest()


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
