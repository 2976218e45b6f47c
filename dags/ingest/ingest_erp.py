"""
## ingest_erp

Pulls the ERP's entities (see `include/sources.yaml`, source `erp`) since their watermarks
into `raw.erp__<entity>`, one mapped task per entity. Connection: `erp_api`
(`AIRFLOW_CONN_ERP_API`: base URL in `host`, bearer token in `password`).

Rerunning is safe: records are deduplicated on (natural key, payload hash) and the watermark
advances in the same transaction as the data. Bad records land in `ops.dead_letters`.
"""

from waybill.orchestration.ingest_dag import build_ingest_dag

dag = build_ingest_dag("erp", doc_md=__doc__)
