"""X12 files (a carrier's 214 status and 210 invoices) into records, and fetching them from a listing.

Parsing is :mod:`waybill.connectors.edi`. Each sound transaction set of the entity's type becomes
one :class:`Record`: the set's canonical ``record`` plus ``envelope`` (file, ISA13, GS06, ST02,
sender and receiver id). A set with any error becomes one :class:`DeadLetter` whose reason names
file, interchange, group, set and segment; the sound sets of the same file still land. Errors that
belong to no set (an unreadable ISA, a GE/IEA count) become dead letters with ``field = "file"``.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Any

from waybill.connectors.inbound import already_present
from waybill.connectors.keys import natural_key
from waybill.load.records import DeadLetter, Record

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from waybill.connectors.edi import ParseResult
    from waybill.connectors.http import HttpClient
    from waybill.sources import EntityConfig

FILE_FIELD = "file"


def fetch_new_files(client: HttpClient, entity: EntityConfig, folder: Path) -> list[str]:
    """Download the files of the entity's kind that ``folder`` (or its archive/rejected) lacks.

    Writes each file atomically (temp name, then rename) so a crash never leaves half a file
    to be read. Returns the names downloaded. Raises the client's errors (``SourceUnavailable``,
    ``requests.HTTPError``).
    """
    fetch = entity.fetch
    if fetch is None:
        return []
    listing = client.get_json(fetch.list_path)
    files = listing.get(fetch.files_field) if isinstance(listing, dict) else None
    if not isinstance(files, list):
        raise ValueError(
            f"{client.source} GET {fetch.list_path}: field {fetch.files_field!r} is not a list"
        )
    folder.mkdir(parents=True, exist_ok=True)
    fetched: list[str] = []
    for entry in files:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get(fetch.name_field) or "")
        if fetch.kind_field and str(entry.get(fetch.kind_field)) != entity.transaction_set:
            continue
        # A listed name is untrusted: never let it climb out of the inbound folder.
        if not name or "/" in name or "\\" in name or name.startswith("."):
            continue
        if already_present(folder, name):
            continue
        response = client.request("GET", fetch.download_path.format(name=name))
        if not response.ok:
            raise ValueError(
                f"{client.source}: GET {fetch.download_path.format(name=name)} returned "
                f"{response.status_code}"
            )
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(response.content)
        os.replace(tmp, folder / name)
        fetched.append(name)
    return fetched


def x12_items(
    result: ParseResult, entity: EntityConfig, file_name: str
) -> Iterator[Record | DeadLetter]:
    """Yield one Record per sound set of ``entity.transaction_set`` in ``result``, else DeadLetters."""
    senders = {
        interchange.control: (interchange.sender_id, interchange.receiver_id)
        for interchange in result.interchanges
    }
    for ts in result.transaction_sets:
        location = (
            f"{file_name}: interchange {ts.isa_control}, group {ts.gs_control}, "
            f"ST {ts.st_control} (set #{ts.position})"
        )
        raw = _segments_text(ts.segments)
        if ts.errors:
            reasons = "; ".join(str(error) for error in ts.errors[:5])
            more = f" (+{len(ts.errors) - 5} more)" if len(ts.errors) > 5 else ""
            yield DeadLetter(location, reasons + more, _error_field(ts.errors[0]), raw)
            continue
        if ts.type != entity.transaction_set:
            yield DeadLetter(
                location,
                f"transaction set type {ts.type!r} in a {entity.transaction_set} feed",
                "ST01",
                raw,
            )
            continue
        if not isinstance(ts.record, dict):
            yield DeadLetter(location, "no canonical record for this set", None, raw)
            continue
        sender, receiver = senders.get(ts.isa_control or "", (None, None))
        payload: dict[str, Any] = {
            **ts.record,
            "envelope": {
                "file": file_name,
                "isa_control": ts.isa_control,
                "gs_control": ts.gs_control,
                "st_control": ts.st_control,
                "sender_id": sender,
                "receiver_id": receiver,
            },
        }
        key, missing = natural_key(payload, entity.natural_key)
        if key is None:
            yield DeadLetter(location, f"natural key {missing!r} is missing", missing, raw)
            continue
        yield Record(key, payload, location)
    for error in result.errors:
        yield DeadLetter(f"{file_name}: {FILE_FIELD}", str(error), FILE_FIELD, None)
    if result.read_error:
        yield DeadLetter(f"{file_name}: {FILE_FIELD}", result.read_error, FILE_FIELD, None)


def _error_field(error: Any) -> str | None:
    """The segment (and element) an error points at, e.g. ``SE01`` or ``SE``."""
    tag = getattr(error, "segment_tag", None)
    if tag and getattr(error, "element_index", None) is not None:
        return f"{tag}{error.element_index:02d}"
    return tag


def _segments_text(segments: list[list[str]]) -> str:
    try:
        return json.dumps(segments, ensure_ascii=False)[:10_000]
    except (TypeError, ValueError):
        return repr(segments)[:10_000]
