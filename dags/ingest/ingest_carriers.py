"""
## ingest_carriers

Lands every carrier, one mapped task per (carrier, entity), so one failing carrier does not
block the others (see `include/sources.yaml`, sources with `system: carriers`):

- `parcelco`, `swiftex`: the tracking event feeds (page tokens, resumed from the stored token)
  into `raw.<carrier>__tracking_events`. Connections `parcelco_api`, `swiftex_api`
  (`AIRFLOW_CONN_PARCELCO_API`, `AIRFLOW_CONN_SWIFTEX_API`: base URL in `host`).
- `tracklane`: a carrier followed through a shipping aggregator (Shippo `track_updated` bodies,
  page tokens) into `raw.tracklane__tracking_updates`; connection `tracklane_api`.
- `ridgeline`: X12 214 → `raw.ridgeline__shipment_status`, 210 → `raw.ridgeline__freight_invoices`
  (files fetched from the carrier's listing into the inbound folder, parsed, a 997 written to
  the outbound folder, files moved to `archive/` or `rejected/`), and PODs →
  `raw.ridgeline__pods`. Connection `ridgeline_api` (`AIRFLOW_CONN_RIDGELINE_API`).

Webhooks are not pulled here: `waybill webhooks serve` stores them in `raw.<carrier>__webhook_events`.
"""

from waybill.orchestration.ingest_dag import build_ingest_dag

dag = build_ingest_dag("carriers", doc_md=__doc__)
