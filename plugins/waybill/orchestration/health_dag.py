"""Build ``pipeline_health``: dbt source freshness on every source, the last successful ingest
run and the dead-letter rate and lag per source table into ``ops.source_health``; fails naming
the late sources."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from waybill.orchestration.defaults import DAG_KWARGS


def build_health_dag(doc_md: str | None = None) -> DAG:
    """Return the ``pipeline_health`` DAG (hourly, like the most frequent source)."""
    with DAG(
        dag_id="pipeline_health",
        description="Source freshness, last successful run, dead-letter rate and lag per source",
        schedule="@hourly",
        tags=["health", "dbt"],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:

        @task
        def check_sources() -> dict:
            """Run dbt source freshness and write every source table's health to ops.source_health."""
            from airflow.sdk import get_current_context

            from waybill import roles
            from waybill.health.alerts import late_sources
            from waybill.health.freshness import source_freshness
            from waybill.health.store import write_source_health

            ti = get_current_context()["ti"]

            def dagrun_state(dag_id: str, run_id: str) -> str | None:
                try:
                    return str(ti.get_dagrun_state(dag_id=dag_id, run_id=run_id))
                except Exception:  # a run Airflow no longer knows (or another DAG's run id)
                    return None

            roles.ensure_migrated(role="transformer")
            rows = source_freshness()
            written = write_source_health(rows, dagrun_state)
            return {
                "source_tables": written,
                "late": late_sources(rows, "error") + late_sources(rows, "runtime error"),
                "warn": late_sources(rows, "warn"),
            }

        @task
        def alert_late_sources(health: dict[str, Any]) -> str:
            """Fail, naming each late source, when a source missed its error threshold."""
            import logging

            from airflow.exceptions import AirflowFailException

            for line in health["warn"]:
                logging.getLogger(__name__).warning("source late (warn): %s", line)
            if health["late"]:
                raise AirflowFailException("late sources: " + "; ".join(health["late"]))
            return f"{health['source_tables']} source tables checked, none late"

        # The TaskFlow call passes an XComArg where the function takes the dict it resolves to.
        alert_late_sources(check_sources())  # type: ignore[arg-type]
    return dag
