"""
## transform_warehouse

Builds the dbt project (`dbt_project/`) through astronomer-cosmos: one Airflow task per
model, each model's tests right after it. Rendered from `dbt_project/target/manifest.json`,
so parsing this DAG never runs dbt (`make` refreshes the manifest).

Triggered when any ingestion DAG updates a raw Asset; emits the marts Asset that triggers
`post_billing`.
"""

from waybill.orchestration.transform_dag import build_transform_dag

dag = build_transform_dag(doc_md=__doc__)
