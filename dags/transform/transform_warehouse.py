"""
## transform_warehouse

Builds the dbt project (`dbt_project/`) through astronomer-cosmos in WATCHER mode: one
task (`dbt.dbt_producer_watcher`) runs a single `dbt build`; every model, seed and snapshot
keeps its own Airflow task, and each tested model a `.test` task, which turn green or red as
dbt reports that node (they run in the triggerer, not in a worker). Rendered from
`dbt_project/target/manifest.json`, so parsing this DAG never runs dbt (`make` refreshes the
manifest).

Triggered when any ingestion DAG updates a raw Asset; emits the marts Asset that triggers
`post_billing`.
"""

from waybill.orchestration.transform_dag import build_transform_dag

dag = build_transform_dag(doc_md=__doc__)
