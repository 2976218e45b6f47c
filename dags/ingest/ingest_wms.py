"""
## ingest_wms

Lands the WMS into raw, one mapped task per entity (see `include/sources.yaml`, sources with
`system: wms`):

- source `wms` (REST, page tokens): `raw.wms__<entity>` — warehouses, shipment_confirmations,
  inventory_adjustments, inventory. Connection: `wms_api` (`AIRFLOW_CONN_WMS_API`, base URL in `host`).
- source `wms_files` (CSV drops in the inbound folder): `raw.wms_files__shipment_confirmation_lines`,
  `raw.wms_files__inventory_adjustments`, one row per CSV row. Read files move to `archive/`,
  files with bad rows to `rejected/`; bad rows land in `ops.dead_letters` naming file, line, column.

Rerunning is safe: records are deduplicated on (natural key, payload hash) and the watermark
advances in the same transaction as the data.
"""

from waybill.orchestration.ingest_dag import build_ingest_dag

dag = build_ingest_dag("wms", doc_md=__doc__)
