"""CSV flat-file drops (RFC 4180, a header row) into records: one record per data row, streamed.

The payload is the row as a JSON object of header → value (text, as sent) plus ``_file`` and
``_line`` (the 1-based physical line, header = 1). A row with the wrong number of fields, an
empty required column or a non-integer in an integer column becomes a dead letter naming the
file, line and column; the rest of the file goes on. Bytes that are not UTF-8 are kept as
surrogates so the loader dead-letters exactly that row.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING

from waybill.connectors.keys import natural_key
from waybill.load.records import DeadLetter, Record

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from waybill.sources import EntityConfig

_INTEGER = re.compile(r"^[+-]?\d+$")
# Rows as large as a few MB are legitimate in drops (free-text notes); csv's default is 128 KiB.
csv.field_size_limit(64 * 1024 * 1024)


def csv_items(path: Path, entity: EntityConfig) -> Iterator[Record | DeadLetter]:
    """Yield one Record or DeadLetter per data row of the CSV file at ``path``."""
    name = path.name
    with path.open("rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield DeadLetter(f"{name} line 1", f"header is not CSV: {exc}", "header", None)
            return
        header = [column.strip() for column in header]
        missing = [c for c in entity.required_columns if c not in header]
        if missing:
            yield DeadLetter(
                f"{name} line 1",
                f"header lacks required columns {missing}",
                missing[0],
                ",".join(header),
            )
            return
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield DeadLetter(f"{name} line {reader.line_num}", f"not CSV: {exc}", None, None)
                continue
            line = reader.line_num
            yield _row_item(name, line, header, row, entity)


def _row_item(
    name: str, line: int, header: list[str], row: list[str], entity: EntityConfig
) -> Record | DeadLetter:
    location = f"{name} line {line}"
    raw = ",".join(row)[:10_000]
    if not any(row):
        return DeadLetter(location, "empty row", None, raw)
    if len(row) != len(header):
        column = header[len(row)] if len(row) < len(header) else None
        return DeadLetter(
            location,
            f"row has {len(row)} fields, the header has {len(header)}"
            + (f" (cut before column {column!r})" if column else ""),
            column,
            raw,
        )
    values = dict(zip(header, row, strict=True))
    for column in entity.required_columns:
        if not values.get(column, "").strip():
            return DeadLetter(location, f"required column {column!r} is empty", column, raw)
    for column in entity.integer_columns:
        value = values.get(column, "").strip()
        if value and not _INTEGER.match(value):
            return DeadLetter(
                location, f"column {column!r} is not an integer: {value[:40]!r}", column, raw
            )
    payload: dict[str, object] = {**values, "_file": name, "_line": line}
    key, missing = natural_key(payload, entity.natural_key)
    if key is None:
        return DeadLetter(location, f"natural key column {missing!r} is empty", missing, raw)
    return Record(key, payload, location)
