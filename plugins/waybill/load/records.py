"""What connectors hand to the loader: a record to land, or a dead letter explaining why not."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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


def payload_text(payload: dict[str, Any] | list[Any] | str) -> str:
    """Serialise a payload to the JSON text COPY sends, raising :class:`PayloadError` if JSONB cannot hold it.

    JSONB rejects the NUL character (``\\u0000``) and text that is not valid UTF-8 (lone surrogates
    from undecodable bytes); both are caught here, before COPY, so one bad record never aborts a batch.
    """
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except ValueError as exc:
            raise PayloadError(f"payload is not valid JSON: {exc}") from None
        text = payload
    else:
        try:
            text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise PayloadError(f"payload is not JSON-serialisable: {exc}") from None
    if "\\u0000" in text or "\x00" in text:
        raise PayloadError(
            "payload contains a NUL character, which Postgres JSONB cannot store",
            _nul_path(payload),
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PayloadError(f"payload is not valid UTF-8 text: {exc.reason}") from None
    return text


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
