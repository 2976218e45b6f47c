"""Build the ingestion DAG of one source system from ``include/sources.yaml``.

One DAG per source; one mapped task instance per entity, so a failing entity fails alone and
the others still land. Each run emits the source's raw Assets, which trigger the transform.
"""

from __future__ import annotations

from airflow.sdk import DAG, task

from waybill.orchestration.assets import source_assets
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.sources import get_source


def build_ingest_dag(source_name: str, doc_md: str | None = None) -> DAG:
    """Return the ``ingest_<source>`` DAG: reads only the YAML registry at parse time."""
    source = get_source(source_name)
    with DAG(
        dag_id=f"ingest_{source_name}",
        description=source.description or f"Ingest {source_name} into raw",
        schedule=source.schedule,
        tags=["ingest", source_name],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:

        @task(outlets=source_assets(source))
        def ingest(entity: str) -> dict:
            """Pull one entity since its watermark and land it in raw."""
            from airflow.sdk import get_current_context

            from waybill.ingest import ingest_entity

            run_id = get_current_context()["run_id"]
            return ingest_entity(source_name, entity, run_id=run_id)

        ingest.expand(entity=sorted(source.entities))
    return dag
