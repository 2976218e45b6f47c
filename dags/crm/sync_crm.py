"""
## sync_crm

Airflow runs this DAG whenever the marts are rebuilt (the `warehouse.marts.fct_invoice_lines`
Asset). Reverse ETL to the CRM (connection `crm_api`, `AIRFLOW_CONN_CRM_API`: base URL in
`host`, client secret in `password`, extra `{"client_id", "rate_limit_per_s", "batch_size"}`),
mapped by `include/crm_mapping.yaml`:

* each shipment's **customer-visible status** (processing, in transit, delivered, lost) — sent
  only when it changed since the last acknowledged sync;
* one **case** per exception that deserves one (delay past promise, damage, loss, missing POD
  past N hours, billing hold, open dispute) with its evidence and an SLA; a case whose
  exception clears is updated, never opened twice.

Sync state: `ops.crm_sync_state` (what the CRM acknowledged) and `ops.crm_sync_runs`. Rerunning
sends nothing new; a crash mid-sync resends at most the unrecorded batch, which the CRM's upsert
by external id absorbs. Records the CRM refuses land in `ops.dead_letters` (source `crm_sync`)
with the CRM's message.
"""

from waybill.orchestration.crm_dag import build_crm_dag

dag = build_crm_dag(doc_md=__doc__)
