"""
## pipeline_health

Airflow runs this DAG hourly. `check_sources` runs `dbt source freshness` on every dbt source
(thresholds and `loaded_at_field` / `loaded_at_query` in each `_<source>__sources.yml`; a table
without freshness records why in `meta.freshness_exempt`) and writes one row per source table to
**`ops.source_health`**: freshness status, last loaded, the last successful run of the DAG that
loads it, the dead-letter rate of the last 24 h and the age of the oldest dead letter.
`alert_late_sources` fails naming each source past its error threshold (warnings are logged).
"""

from waybill.orchestration.health_dag import build_health_dag

dag = build_health_dag(doc_md=__doc__)
