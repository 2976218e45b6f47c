"""Where tasks leave files for other tasks and for people: one object-storage root.

Tasks may run on different machines (Celery workers), so nothing one task writes for another
(the gate's summary, GX Data Docs, the finance report) lives in a worker's own folder. It goes
under ``$WAYBILL_ARTIFACTS_URL`` as an Airflow :class:`~airflow.sdk.ObjectStoragePath`
(``s3://bucket/waybill``, ``gs://…``, ``file:///shared/volume``; the connection
``$WAYBILL_ARTIFACTS_CONN_ID`` if the store needs credentials). Unset, it is the local
``$WAYBILL_BUILD_DIR/reports`` (``build/reports``), right for one machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from waybill import runtime

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

ARTIFACTS_URL_ENV = "WAYBILL_ARTIFACTS_URL"
ARTIFACTS_CONN_ENV = "WAYBILL_ARTIFACTS_CONN_ID"
LOCAL_PROTOCOLS = ("file", "local")


def root() -> ObjectStoragePath:
    """The artifacts root: ``$WAYBILL_ARTIFACTS_URL``, else ``file://$WAYBILL_BUILD_DIR/reports``."""
    from airflow.sdk import ObjectStoragePath

    url = os.environ.get(ARTIFACTS_URL_ENV, "").strip()
    if not url:
        build = Path(os.environ.get("WAYBILL_BUILD_DIR") or runtime.BUILD_DIR)
        url = (build / "reports").resolve().as_uri()
    return ObjectStoragePath(url, conn_id=os.environ.get(ARTIFACTS_CONN_ENV) or None)


def is_local(path: ObjectStoragePath) -> bool:
    """Whether ``path`` is on this machine's file system (then :func:`local_path` names it)."""
    return path.protocol in LOCAL_PROTOCOLS


def local_path(path: ObjectStoragePath) -> Path:
    """The file-system path of a local ``path``; raises ``ValueError`` for a remote one."""
    if not is_local(path):
        raise ValueError(f"{path} is not on the local file system")
    return Path(path.path)


def write_text(target: ObjectStoragePath | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target``, creating its folder where the store has folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def publish_tree(local: Path, target: ObjectStoragePath | Path) -> int:
    """Copy every file under the local folder ``local`` to ``target`` (same relative paths);
    return how many files were copied. A missing ``local`` copies nothing."""
    copied = 0
    if not local.is_dir():
        return 0
    for source in sorted(local.rglob("*")):
        if source.is_file():
            destination = target / source.relative_to(local).as_posix()
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(source.read_bytes())
            copied += 1
    return copied
