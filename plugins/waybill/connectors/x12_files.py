"""X12 files (214 status, 210 invoices, 856/940/945 warehouse sets) into records, and fetching them.

Parsing is :mod:`waybill.connectors.edi`, streamed: one transaction set at a time, so a file of
any size lands in flat memory. Each sound transaction set of the entity's type becomes one
:class:`Record`: the set's canonical ``record`` plus ``envelope`` (file, ISA13, GS06, ST02, sender
and receiver id). A set with any error (an element over its length cap included) becomes one
:class:`DeadLetter` whose reason names file, interchange, group, set and segment; the sound sets
of the same file still land. Errors that belong to no set (an unreadable ISA, a GE/IEA count)
become dead letters with ``field = "file"``. The 997 is written while the file is read and
published once it has been read through, so it says what was rejected.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.models import element
from waybill.connectors.inbound import already_present
from waybill.connectors.keys import natural_key
from waybill.load.records import DeadLetter, Record

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from waybill.connectors.edi import TransactionSet
    from waybill.connectors.edi.acknowledgment import AckFile
    from waybill.connectors.http import HttpClient
    from waybill.sources import EntityConfig

log = logging.getLogger(__name__)

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


def x12_file_items(
    path: Path, entity: EntityConfig, outbound_dir: Path | None
) -> tuple[Iterator[Record | DeadLetter], Callable[[], bool]]:
    """Stream ``path``'s sets as items for ``entity``, and say afterwards whether it was sound.

    Returns ``(items, sound)``: ``items`` yields one Record per sound set of
    ``entity.transaction_set`` and a DeadLetter per other set, then one per file-level error;
    ``sound()`` (call it after ``items`` is exhausted) is True when the file was read, held a
    set and had no file-level error. When ``outbound_dir`` is given, the 997 is written there
    as the sets go by and published when the file has been read through (before the caller
    commits the batch; a rerun rewrites the same name); a failure to write it is logged, not
    raised. Nothing is kept per set: memory stays flat whatever the file size.
    """
    from waybill.connectors.edi import ParseResult, stream_file
    from waybill.connectors.edi.acknowledgment import AckFile

    # Filled when iteration starts: nothing (no temporary 997) exists before that.
    result = ParseResult(source=str(path), read_error="not read")

    def items() -> Iterator[Record | DeadLetter]:
        nonlocal result
        ack: AckFile | None = None
        if outbound_dir is not None:
            try:
                ack = AckFile(outbound_dir)
            except OSError as exc:
                log.error("%s: cannot write a 997 into %s: %s", path.name, outbound_dir, exc)
        stream = stream_file(path, listener=ack.writer if ack else None)
        result = stream.result
        try:
            for tset in stream:
                yield set_item(tset, entity, path.name)
        except BaseException:
            if ack is not None:
                ack.discard()
            raise
        if ack is not None:
            _publish(ack, path.name, unread=result.read_error is not None)
        for error in result.errors:
            yield DeadLetter(f"{path.name}: {FILE_FIELD}", str(error), FILE_FIELD, None)
        if result.read_error:
            yield DeadLetter(f"{path.name}: {FILE_FIELD}", result.read_error, FILE_FIELD, None)

    def sound() -> bool:
        return not result.errors and not result.read_error and not result.rejected

    return items(), sound


def _publish(ack: AckFile, file_name: str, *, unread: bool) -> None:
    """Publish the file's 997 (or drop it when the file could not be read); log, never raise."""
    try:
        if unread:
            ack.discard()
        else:
            ack.commit()
    except OSError as exc:
        log.error("could not write the 997 for %s: %s", file_name, exc)


def set_item(tset: TransactionSet, entity: EntityConfig, file_name: str) -> Record | DeadLetter:
    """One set as a Record of ``entity`` when it is sound and of its type, else a DeadLetter."""
    location = (
        f"{file_name}: interchange {tset.isa_control}, group {tset.gs_control}, "
        f"ST {tset.st_control} (set #{tset.position})"
    )
    raw = _segments_text(tset.segments)
    if tset.errors:
        reasons = "; ".join(str(error) for error in tset.errors[:5])
        more = f" (+{len(tset.errors) - 5} more)" if len(tset.errors) > 5 else ""
        return DeadLetter(location, reasons + more, _error_field(tset.errors[0]), raw)
    if tset.type != entity.transaction_set:
        return DeadLetter(
            location,
            f"transaction set type {tset.type!r} in a {entity.transaction_set} feed",
            "ST01",
            raw,
        )
    if not isinstance(tset.record, dict):
        return DeadLetter(location, "no canonical record for this set", None, raw)
    isa = tset.envelope[0] if tset.envelope else []
    payload: dict[str, Any] = {
        **tset.record,
        "envelope": {
            "file": file_name,
            "isa_control": tset.isa_control,
            "gs_control": tset.gs_control,
            "st_control": tset.st_control,
            "sender_id": element(isa, 6),
            "receiver_id": element(isa, 8),
        },
    }
    key, missing = natural_key(payload, entity.natural_key)
    if key is None:
        return DeadLetter(location, f"natural key {missing!r} is missing", missing, raw)
    return Record(key, payload, location)


def _error_field(error: Any) -> str | None:
    """The element (``SE01``, ``B10-01``) or else the segment (``SE``) an error points at."""
    return getattr(error, "element", None) or getattr(error, "segment_tag", None)


def _segments_text(segments: list[list[str]]) -> str:
    try:
        return json.dumps(segments, ensure_ascii=False)[:10_000]
    except (TypeError, ValueError):
        return repr(segments)[:10_000]
