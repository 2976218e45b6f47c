"""Inbound and outbound folders of file sources, and moving files out of the way once read.

A file source reads ``<inbound>/<pattern>``; a file whose records all landed moves to
``<inbound>/archive/``, one with any bad record or an unreadable envelope to
``<inbound>/rejected/``. Input is never deleted; a name already taken gets a numeric suffix.
A file whose load failed outright (:func:`reject_failed_file`) also goes to ``rejected/``, with
``<name>.reason`` beside it and a dead letter, so it never blocks the files after it.

Folders resolve, first match wins: ``$WAYBILL_INBOUND_DIR_<SOURCE>`` (``_OUTBOUND_``), the
source connection's extra ``{"inbound_dir": ..., "outbound_dir": ...}``, then the source's
``inbound_dir``/``outbound_dir`` in ``sources.yaml`` under ``$WAYBILL_INBOUND_DIR``
(default ``<WAYBILL_HOME>/inbound``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from waybill import warehouse

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg

    from waybill.load.copy import BatchResult
    from waybill.sources import EntityConfig, SourceConfig

ARCHIVE = "archive"
REJECTED = "rejected"


def inbound_root() -> Path:
    """The folder relative inbound/outbound directories live under."""
    return Path(os.environ.get("WAYBILL_INBOUND_DIR", warehouse.state_dir() / "inbound"))


def source_folder(source: SourceConfig, which: str = "inbound") -> Path:
    """Resolve the ``inbound`` or ``outbound`` folder of ``source`` (see the module docstring).

    Raises ``ValueError`` when the source configures no such folder.
    """
    env = os.environ.get(f"WAYBILL_{which.upper()}_DIR_{source.name.upper()}")
    if env:
        return Path(env)
    extra = _connection_extra(source)
    if extra.get(f"{which}_dir"):
        return Path(extra[f"{which}_dir"])
    configured = source.inbound_dir if which == "inbound" else source.outbound_dir
    if configured is None and which == "outbound" and source.inbound_dir:
        configured = f"{source.inbound_dir}/outbound"
    if configured is None:
        raise ValueError(f"source {source.name!r} has no {which}_dir")
    path = Path(configured)
    return path if path.is_absolute() else inbound_root() / path


def entity_folder(source: SourceConfig, entity: EntityConfig) -> Path:
    """The inbound folder of one entity: the source's inbound folder plus ``inbound_subdir``."""
    base = source_folder(source, "inbound")
    return base / entity.inbound_subdir if entity.inbound_subdir else base


def pending_files(folder: Path, pattern: str) -> Iterator[Path]:
    """Yield the files matching ``pattern`` directly in ``folder``, oldest name first."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(pattern)):
        if path.is_file() and not path.name.startswith("."):
            yield path


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def move_out(path: Path, status: str) -> Path:
    """Move ``path`` into the ``archive/`` (status ``archived``) or ``rejected/`` folder beside it.

    Returns the new path; a name already taken there gets ``.1``, ``.2``, … appended.
    """
    folder = path.parent / (ARCHIVE if status == "archived" else REJECTED)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    counter = 0
    while target.exists():
        counter += 1
        target = folder / f"{path.name}.{counter}"
    os.replace(path, target)
    return target


def is_file_failure(conn: psycopg.Connection, error: BaseException) -> bool:
    """True when ``error`` came from the file (its data, the connector) rather than the warehouse.

    A lost connection or a server going away is not the file's fault: the file stays in inbound
    for the retry. Anything else rejects the file (see :func:`reject_failed_file`).
    """
    import psycopg

    if not isinstance(error, Exception) or conn.closed or conn.broken:
        return False
    return not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def reject_failed_file(
    conn: psycopg.Connection,
    source: str,
    entity: str,
    path: Path,
    error: Exception,
    run_id: str | None = None,
) -> tuple[Path, BatchResult]:
    """Record that ``path`` could not be loaded, move it to ``rejected/`` and return where it went.

    Writes, in one batch: a dead letter for the whole file (location = file name, the error as
    reason), ``ops.load_batches`` and ``ops.ingested_files`` (status ``rejected``). Then moves the
    file and writes ``rejected/<name>.reason`` with the error. Raises what the warehouse raises
    (the file then stays in inbound).
    """
    from datetime import UTC, datetime

    from psycopg.pq import TransactionStatus

    from waybill.load.copy import load_batch
    from waybill.load.records import DeadLetter

    sha = sha256_of(path)
    reason = f"file failed to load: {type(error).__name__}: {error}"[:2_000]

    def register(cur: psycopg.Cursor, result: BatchResult) -> None:
        cur.execute(
            "insert into ops.ingested_files"
            " (source, entity, file_name, sha256, status, batch_id, records, dead_letters)"
            " values (%s, %s, %s, %s, 'rejected', %s, 0, %s) on conflict do nothing",
            (source, entity, path.name, sha, result.batch_id, result.dead_lettered),
        )

    if conn.info.transaction_status != TransactionStatus.IDLE:  # after the failure: start clean
        conn.rollback()
    result = load_batch(
        conn,
        source,
        entity,
        [DeadLetter(path.name, reason, None, None)],
        extracted_at=datetime.now(UTC),
        run_id=run_id,
        before_commit=register,
    )
    moved = move_out(path, "rejected")
    moved.with_name(moved.name + ".reason").write_text(reason + "\n")
    return moved, result


def already_present(folder: Path, name: str) -> bool:
    """True when ``name`` is in ``folder``, its archive or its rejected folder (already fetched)."""
    return any((folder / sub / name).exists() for sub in ("", ARCHIVE, REJECTED))


def _connection_extra(source: SourceConfig) -> dict:
    if not source.connection_id:
        return {}
    from waybill.connections import MissingConnection, get_endpoint

    try:
        return dict(get_endpoint(source.connection_id).extra)
    except MissingConnection:
        return {}
