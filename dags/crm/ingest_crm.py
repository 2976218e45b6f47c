"""
## ingest_crm

Pulls the CRM's cases (agents' resolutions included) and customers' contacts since their
watermarks into `raw.crm__cases` and `raw.crm__contacts` (see `include/sources.yaml`, source
`crm`), one mapped task per entity. Connection: `crm_api` (`AIRFLOW_CONN_CRM_API`: base URL in
`host`, the CRM's API token in `password`).

Rerunning is safe: records are deduplicated on (natural key, payload hash) and the watermark
advances in the same transaction as the data. Bad records land in `ops.dead_letters`.
"""

from waybill.orchestration.ingest_dag import build_ingest_dag

dag = build_ingest_dag("crm", doc_md=__doc__)
