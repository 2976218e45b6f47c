"""Natural keys: read one or several dotted paths from a record and join them into one text key."""

from __future__ import annotations

import json
import re
from typing import Any

KEY_SEPARATOR = "|"


def natural_key(record: dict[str, Any], paths: tuple[str, ...]) -> tuple[str | None, str | None]:
    """Return ``(key, None)`` for ``record``, or ``(None, missing_path)`` naming the first absent part.

    A part must be a non-empty string or a number (not a bool); parts are joined with ``|``.
    """
    parts: list[str] = []
    for path in paths:
        value: Any = record
        for step in path.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            return None, path
        parts.append(str(value))
    return KEY_SEPARATOR.join(parts), None


def key_hint(text: str, paths: tuple[str, ...]) -> str | None:
    """Best-effort key of a record that is not valid JSON (e.g. cut short): the first top-level
    key field found in its text, so a dead letter can name the record it came from."""
    field = paths[0].split(".")[-1]
    match = re.search(rf'"{re.escape(field)}"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)', text)
    if not match:
        return None
    try:
        return str(json.loads(match.group(1)))
    except ValueError:
        return None
