"""The source registry: ``include/sources.yaml`` read into typed, validated config.

Cheap to call at DAG parse time (one small YAML file, no network, no Airflow import).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCES_FILE = Path(__file__).resolve().parents[2] / "include" / "sources.yaml"


class ConfigError(ValueError):
    """``sources.yaml`` is wrong; the message names the source, entity and key."""


@dataclass(frozen=True)
class Incremental:
    """How to pull only what changed: the request parameter, the record field, and the overlap for late data."""

    param: str
    field: str
    overlap_minutes: int = 60


@dataclass(frozen=True)
class EntityConfig:
    """One entity of a source: where to read it and how to key it."""

    name: str
    path: str
    natural_key: str
    pagination: str = "cursor"
    items_field: str = "data"
    next_field: str = "next_cursor"
    cursor_param: str = "cursor"
    limit_param: str = "limit"
    incremental: Incremental | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceConfig:
    """One source system: its kind, its Airflow connection, limits, schedule and entities."""

    name: str
    kind: str
    connection_id: str
    description: str = ""
    schedule: str | None = None
    timeout_s: float = 30.0
    rate_limit_per_s: float = 0.0
    page_size: int = 500
    entities: dict[str, EntityConfig] = field(default_factory=dict)

    def entity(self, name: str) -> EntityConfig:
        """Return the named entity, raising :class:`ConfigError` if it is not configured."""
        try:
            return self.entities[name]
        except KeyError:
            raise ConfigError(f"source {self.name!r} has no entity {name!r}") from None


KNOWN_KINDS = frozenset({"rest"})


@functools.cache
def load_sources(path: str | None = None) -> dict[str, SourceConfig]:
    """Read and validate the source registry (``WAYBILL_SOURCES`` or ``include/sources.yaml``)."""
    file = Path(path or os.environ.get("WAYBILL_SOURCES", SOURCES_FILE))
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


def _source(name: str, spec: dict[str, Any]) -> SourceConfig:
    kind = spec.get("kind")
    if kind not in KNOWN_KINDS:
        raise ConfigError(f"source {name!r}: kind {kind!r} is not one of {sorted(KNOWN_KINDS)}")
    if not spec.get("connection_id"):
        raise ConfigError(f"source {name!r}: connection_id is required")
    entities = {
        entity: _entity(name, entity, entity_spec or {})
        for entity, entity_spec in (spec.get("entities") or {}).items()
    }
    return SourceConfig(
        name=name,
        kind=kind,
        connection_id=spec["connection_id"],
        description=spec.get("description", ""),
        schedule=spec.get("schedule"),
        timeout_s=float(spec.get("timeout_s", 30)),
        rate_limit_per_s=float(spec.get("rate_limit_per_s", 0)),
        page_size=int(spec.get("page_size", 500)),
        entities=entities,
    )


_ENTITY_KEYS = {
    "path",
    "natural_key",
    "pagination",
    "items_field",
    "next_field",
    "cursor_param",
    "limit_param",
    "incremental",
}


def _entity(source: str, name: str, spec: dict[str, Any]) -> EntityConfig:
    for required in ("path", "natural_key"):
        if not spec.get(required):
            raise ConfigError(f"source {source!r}, entity {name!r}: {required} is required")
    incremental = spec.get("incremental")
    known = {k: v for k, v in spec.items() if k in _ENTITY_KEYS and k != "incremental"}
    return EntityConfig(
        name=name,
        incremental=Incremental(**incremental) if incremental else None,
        options={k: v for k, v in spec.items() if k not in _ENTITY_KEYS},
        **known,
    )
