"""The Assets that link the DAGs: raw tables trigger the transform, marts trigger billing."""

from __future__ import annotations

from airflow.sdk import Asset

from waybill.load.schema import raw_table_name
from waybill.sources import SourceConfig, load_sources

MARTS_BILLING = Asset("warehouse.marts.fct_invoice_lines")


def raw_asset(source: str, entity: str) -> Asset:
    """Return the Asset for ``raw.<source>__<entity>``."""
    return Asset(f"warehouse.raw.{raw_table_name(source, entity)}")


def source_assets(source: SourceConfig) -> list[Asset]:
    """Return one Asset per entity of ``source``."""
    return [raw_asset(source.name, entity) for entity in source.entities]


def system_assets(sources: list[SourceConfig]) -> list[Asset]:
    """Return the Assets of every entity of the sources of one system (one ingestion DAG)."""
    return [asset for source in sources for asset in source_assets(source)]


def all_raw_assets() -> list[Asset]:
    """Return the Assets of every configured source entity."""
    return [asset for source in load_sources().values() for asset in source_assets(source)]
