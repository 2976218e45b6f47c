"""Inbound and outbound folders of file sources, and moving files out of the way once read.

A file source reads ``<inbound>/<pattern>``; a file whose records all landed moves to
``<inbound>/archive/``, one with any bad record or an unreadable envelope to
``<inbound>/rejected/``. Input is never deleted; a name already taken gets a numeric suffix.

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
