"""
## ingest_tms

Lands the TMS's loads, shipments and rated charges (offset pagination) into `raw.tms__<entity>`,
one mapped task per entity (see `include/sources.yaml`, source `tms`). Connection: `tms_api`
(`AIRFLOW_CONN_TMS_API`, base URL in `host`).

Loads and shipments are pulled whole each run (they change status in place); rated charges
resume from the last page's offset. Unchanged records deduplicate on (natural key, payload hash).
"""

from waybill.orchestration.ingest_dag import build_ingest_dag

dag = build_ingest_dag("tms", doc_md=__doc__)
