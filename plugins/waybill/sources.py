"""The source registry: ``include/sources.yaml`` read into typed, validated config.

Cheap to call at DAG parse time (one small YAML file, no network, no Airflow import).
A source's ``defaults`` block is merged under each of its entities, so a YAML block stays short.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCES_FILE = Path(__file__).resolve().parents[2] / "include" / "sources.yaml"

KNOWN_KINDS = frozenset({"rest", "x12_files", "csv_files", "tracking_lookup", "webhook_events"})
# Kinds that read neither HTTP nor an inbound folder: webhook_events normalises rows the
# webhook receiver stored in raw.
_WAREHOUSE_KINDS = frozenset({"webhook_events"})
KNOWN_PAGINATION = frozenset({"cursor", "page_token", "offset", "none"})
KNOWN_INCREMENTAL = frozenset({"updated_since", "page_token", "offset"})


class ConfigError(ValueError):
    """``sources.yaml`` is wrong; the message names the source, entity and key."""


# Source and entity names become raw table names, ``raw.<source>__<entity>``.
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
# Postgres cuts names at 63 bytes, silently: two long names could become one table. The raw
# table's primary-key index is ``<source>__<entity>__key_hash``, so the table name gets 63 - 10.
MAX_RAW_TABLE_NAME = 63 - len("__key_hash")


def raw_table_name(source: str, entity: str) -> str:
    """Return ``<source>__<entity>`` after checking it can name a raw table exactly.

    Each part must match ``[a-z][a-z0-9_]*`` in full (``re.fullmatch``: a trailing newline fails)
    and the name, with its index suffix, must fit Postgres's 63 bytes. Raises
    :class:`ConfigError` naming the part or the length.
    """
    for what, part in (("source", source), ("entity", entity)):
        if not isinstance(part, str) or not IDENTIFIER.fullmatch(part):
            raise ConfigError(
                f"{what} name {part!r} must be a lowercase identifier ([a-z][a-z0-9_]*)"
            )
    name = f"{source}__{entity}"
    if len(name) > MAX_RAW_TABLE_NAME:
        raise ConfigError(
            f"raw table name {name!r} is {len(name)} characters; source and entity together"
            f" must fit {MAX_RAW_TABLE_NAME} (Postgres cuts names at 63, with the index suffix)"
        )
    return name


@dataclass(frozen=True)
class Incremental:
    """How to pull only what changed, from a durable watermark in ``ops.watermarks``.

    ``updated_since``: ``param`` = max(``field``) seen minus ``overlap_minutes``;
    ``page_token``/``offset``: resume at the last page read (re-read once, deduplicated).
    """

    kind: str = "updated_since"
    param: str | None = None
    field: str | None = None
    overlap_minutes: int = 60


@dataclass(frozen=True)
class FetchConfig:
    """Where a file source lists and downloads new files before reading its inbound folder."""

    list_path: str
    download_path: str
    files_field: str = "files"
    name_field: str = "name"
    kind_field: str | None = None


@dataclass(frozen=True)
class EntityConfig:
    """One entity of a source: how to read it and how to key it."""

    name: str
    kind: str
    natural_key: tuple[str, ...]
    path: str = ""
    pagination: str = "cursor"
    items_field: str = "data"
    next_field: str = "next_cursor"
    cursor_param: str = "cursor"
    limit_param: str = "limit"
    offset_param: str = "offset"
    total_field: str = "total"
    page_size: int | None = None
    incremental: Incremental | None = None
    # file kinds
    pattern: str = "*"
    inbound_subdir: str = ""
    transaction_set: str | None = None
    required_columns: tuple[str, ...] = ()
    integer_columns: tuple[str, ...] = ()
    fetch: FetchConfig | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookConfig:
    """How a carrier pushes events: the headers carrying the event id and the HMAC signature."""

    entity: str = "webhook_events"
    event_id_header: str = "X-Waybill-Event-Id"
    signature_header: str = "X-Waybill-Signature"
    natural_key: tuple[str, ...] = ("trackingNumber",)


@dataclass(frozen=True)
class SourceConfig:
    """One source system: its kind, its Airflow connection, limits, schedule and entities."""

    name: str
    kind: str
    connection_id: str | None
    system: str = ""
    description: str = ""
    schedule: str | None = None
    timeout_s: float = 30.0
    rate_limit_per_s: float = 0.0
    page_size: int = 500
    inbound_dir: str | None = None
    outbound_dir: str | None = None
    webhook: WebhookConfig | None = None
    entities: dict[str, EntityConfig] = field(default_factory=dict)

    def entity(self, name: str) -> EntityConfig:
        """Return the named entity, raising :class:`ConfigError` if it is not configured."""
        try:
            return self.entities[name]
        except KeyError:
            raise ConfigError(f"source {self.name!r} has no entity {name!r}") from None


@functools.cache
def load_sources(path: str | None = None) -> dict[str, SourceConfig]:
    """Read and validate the source registry (``WAYBILL_SOURCES`` or ``include/sources.yaml``).

    Raises :class:`ConfigError` naming the source, entity and key that is wrong.
    """
    file = Path(path or os.environ.get("WAYBILL_SOURCES", str(SOURCES_FILE)))
    raw = yaml.safe_load(file.read_text()) or {}
    sources: dict[str, SourceConfig] = {}
    for name, spec in (raw.get("sources") or {}).items():
        sources[name] = _source(name, spec or {})
    return sources


def get_source(name: str) -> SourceConfig:
    """Return one configured source, raising :class:`ConfigError` if unknown."""
    try:
        return load_sources()[name]
    except KeyError:
        raise ConfigError(f"no source {name!r} in {SOURCES_FILE.name}") from None


def systems() -> dict[str, list[SourceConfig]]:
    """Return the configured sources grouped by system (one ingestion DAG per system)."""
    grouped: dict[str, list[SourceConfig]] = {}
    for source in load_sources().values():
        grouped.setdefault(source.system, []).append(source)
    return grouped


def system_sources(system: str) -> list[SourceConfig]:
    """Return the sources of ``system``, raising :class:`ConfigError` when there are none."""
    found = systems().get(system)
    if not found:
        raise ConfigError(f"no source with system {system!r} in {SOURCES_FILE.name}")
    return found


def _source(name: str, spec: dict[str, Any]) -> SourceConfig:
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ConfigError(f"source name {name!r} must be a lowercase identifier ([a-z][a-z0-9_]*)")
    kind = spec.get("kind")
    if kind not in KNOWN_KINDS:
        raise ConfigError(f"source {name!r}: kind {kind!r} is not one of {sorted(KNOWN_KINDS)}")
    defaults = spec.get("defaults") or {}
    entities = {
        entity: _entity(name, entity, {**defaults, **(entity_spec or {})}, kind)
        for entity, entity_spec in (spec.get("entities") or {}).items()
    }
    http_kinds = ("rest", "tracking_lookup")
    needs_connection = any(e.kind in http_kinds or e.fetch is not None for e in entities.values())
    if needs_connection and not spec.get("connection_id"):
        raise ConfigError(f"source {name!r}: connection_id is required")
    file_kinds = [e for e in entities.values() if e.kind not in (*http_kinds, *_WAREHOUSE_KINDS)]
    if file_kinds and not spec.get("inbound_dir"):
        raise ConfigError(f"source {name!r}: inbound_dir is required for file entities")
    webhook = spec.get("webhook")
    if webhook is not None:
        webhook = dict(webhook or {})
        if "natural_key" in webhook:
            webhook["natural_key"] = _key_paths(name, "webhook", webhook["natural_key"])
        webhook = WebhookConfig(**webhook)
        _check_table(name, webhook.entity)
    return SourceConfig(
        name=name,
        kind=kind,
        connection_id=spec.get("connection_id"),
        system=spec.get("system") or name,
        description=spec.get("description", ""),
        schedule=spec.get("schedule"),
        timeout_s=float(spec.get("timeout_s", 30)),
        rate_limit_per_s=float(spec.get("rate_limit_per_s", 0)),
        page_size=int(spec.get("page_size", 500)),
        inbound_dir=spec.get("inbound_dir"),
        outbound_dir=spec.get("outbound_dir"),
        webhook=webhook,
        entities=entities,
    )


_ENTITY_KEYS = {
    "kind",
    "path",
    "natural_key",
    "pagination",
    "items_field",
    "next_field",
    "cursor_param",
    "limit_param",
    "offset_param",
    "total_field",
    "page_size",
    "incremental",
    "pattern",
    "inbound_subdir",
    "transaction_set",
    "required_columns",
    "integer_columns",
    "fetch",
}


def _check_table(source: str, entity: str) -> None:
    try:
        raw_table_name(source, entity)
    except ConfigError as exc:
        raise ConfigError(f"source {source!r}, entity {entity!r}: {exc}") from None


def _entity(source: str, name: str, spec: dict[str, Any], source_kind: str) -> EntityConfig:
    where = f"source {source!r}, entity {name!r}"
    _check_table(source, name)
    kind = spec.get("kind", source_kind)
    if kind not in KNOWN_KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {sorted(KNOWN_KINDS)}")
    if not spec.get("natural_key"):
        raise ConfigError(f"{where}: natural_key is required")
    if kind in ("rest", "tracking_lookup") and not spec.get("path"):
        raise ConfigError(f"{where}: path is required")
    if kind == "tracking_lookup":
        for required in ("format", "keys_from", "key_field", "done_field"):
            if not spec.get(required):
                raise ConfigError(f"{where}: {required} is required for tracking_lookup")
    if kind == "x12_files" and not spec.get("transaction_set"):
        raise ConfigError(f"{where}: transaction_set is required for x12_files")
    pagination = spec.get("pagination", "cursor")
    if pagination not in KNOWN_PAGINATION:
        raise ConfigError(
            f"{where}: pagination {pagination!r} is not one of {sorted(KNOWN_PAGINATION)}"
        )
    incremental = _incremental(where, spec.get("incremental"), pagination)
    fetch = spec.get("fetch")
    known = {
        k: v
        for k, v in spec.items()
        if k in _ENTITY_KEYS
        and k not in ("incremental", "natural_key", "kind", "fetch", "pagination")
    }
    for key in ("required_columns", "integer_columns"):
        if key in known:
            known[key] = tuple(known[key] or ())
    if "transaction_set" in known:
        known["transaction_set"] = str(known["transaction_set"])
    return EntityConfig(
        name=name,
        kind=kind,
        natural_key=_key_paths(source, name, spec["natural_key"]),
        pagination=pagination,
        incremental=incremental,
        fetch=FetchConfig(**fetch) if fetch else None,
        options={k: v for k, v in spec.items() if k not in _ENTITY_KEYS},
        **known,
    )


def _incremental(where: str, spec: Any, pagination: str) -> Incremental | None:
    if not spec:
        return None
    spec = dict(spec)
    kind = spec.setdefault("kind", "updated_since")
    if kind not in KNOWN_INCREMENTAL:
        raise ConfigError(
            f"{where}: incremental kind {kind!r} is not one of {sorted(KNOWN_INCREMENTAL)}"
        )
    if kind == "updated_since" and not (spec.get("param") and spec.get("field")):
        raise ConfigError(f"{where}: incremental updated_since needs param and field")
    if kind in ("page_token", "offset") and kind != pagination:
        raise ConfigError(f"{where}: incremental {kind!r} needs pagination {kind!r}")
    return Incremental(**spec)


def _key_paths(source: str, entity: str, value: Any) -> tuple[str, ...]:
    paths = (value,) if isinstance(value, str) else tuple(value or ())
    if not paths or not all(isinstance(p, str) and p for p in paths):
        raise ConfigError(
            f"source {source!r}, entity {entity!r}: natural_key must be a field or a list of fields"
        )
    return paths
