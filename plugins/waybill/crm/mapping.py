"""``include/crm_mapping.yaml`` read into typed config: which customer-visible statuses and which
exceptions become which CRM fields and case types."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAPPING_FILE = Path(__file__).resolve().parents[3] / "include" / "crm_mapping.yaml"
STATUSES = ("processing", "in_transit", "delivered", "lost")
EXCEPTIONS = ("delay", "damage", "loss", "missing_pod", "billing_hold", "dispute")


class MappingError(ValueError):
    """``crm_mapping.yaml`` is wrong; the message names the key."""


@dataclass(frozen=True)
class CaseMapping:
    """The CRM Case fields of one exception."""

    exception: str
    type: str
    priority: str
    sla_hours: float
    subject: str


@dataclass(frozen=True)
class CrmMapping:
    """The whole mapping."""

    status_object: str
    case_object: str
    missing_pod_after_hours: float
    statuses: dict[str, dict[str, Any]]
    case_open: str
    case_cleared: str
    cases: dict[str, CaseMapping]


def load_mapping(path: Path | str | None = None) -> CrmMapping:
    """Read and check the mapping file (default ``include/crm_mapping.yaml``).

    Raises :class:`MappingError` naming the key when a status or exception is unmapped, or a
    value has the wrong type; ``OSError`` when the file cannot be read.
    """
    spec = yaml.safe_load(Path(path or MAPPING_FILE).read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict):
        raise MappingError("crm_mapping: the file must hold a mapping")
    statuses = _section(spec, "statuses")
    for name in STATUSES:
        if not isinstance(statuses.get(name), dict) or not statuses[name]:
            raise MappingError(f"crm_mapping: statuses.{name} must map to CRM fields")
    exceptions = _section(spec, "exceptions")
    cases = {}
    for name in EXCEPTIONS:
        entry = exceptions.get(name)
        if not isinstance(entry, dict):
            raise MappingError(f"crm_mapping: exceptions.{name} is missing")
        for key in ("type", "priority", "sla_hours", "subject"):
            if entry.get(key) in (None, ""):
                raise MappingError(f"crm_mapping: exceptions.{name}.{key} is required")
        try:
            sla = float(entry["sla_hours"])
        except (TypeError, ValueError):
            raise MappingError(
                f"crm_mapping: exceptions.{name}.sla_hours must be a number"
            ) from None
        cases[name] = CaseMapping(
            name, str(entry["type"]), str(entry["priority"]), sla, str(entry["subject"])
        )
    unknown = sorted(set(exceptions) - set(EXCEPTIONS)) + sorted(set(statuses) - set(STATUSES))
    if unknown:
        raise MappingError(f"crm_mapping: unknown keys {unknown}")
    objects = _section(spec, "objects")
    case_status = _section(spec, "case_status")
    try:
        hours = float(spec.get("missing_pod_after_hours", 48))
    except (TypeError, ValueError):
        raise MappingError("crm_mapping: missing_pod_after_hours must be a number") from None
    return CrmMapping(
        status_object=str(objects.get("shipment_status", "ShipmentStatus")),
        case_object=str(objects.get("case", "Case")),
        missing_pod_after_hours=hours,
        statuses={k: dict(v) for k, v in statuses.items()},
        case_open=str(case_status.get("open", "New")),
        case_cleared=str(case_status.get("cleared", "Exception Cleared")),
        cases=cases,
    )


def _section(spec: dict, key: str) -> dict:
    value = spec.get(key)
    if not isinstance(value, dict):
        raise MappingError(f"crm_mapping: {key} must be a mapping")
    return value
