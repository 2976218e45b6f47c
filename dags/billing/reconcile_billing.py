"""
## reconcile_billing

Airflow runs this DAG daily. Three-way: what the mart says should be billed now
(`marts.fct_invoice_lines`, less credits granted on accepted disputes), what Waybill sent
(`ops.billing_outbox`) and what the ERP holds (`GET /erp/invoices`, `GET /erp/credit-notes`).
Each finding is a row in `ops.reconciliation`: **missing_at_erp** (posted by us, unknown to the
ERP), **duplicated_at_erp** (one document id on two ERP documents, or two open invoices for one
shipment), **orphan_at_erp** (a Waybill key we never sent), **amount_drift** (the ERP's net for
a shipment differs from what we sent, or from the mart with nothing queued to explain it) —
critical: the run fails naming the class and count — and **unbilled_change** (a change already
queued, held or awaiting approval; reported).
"""

from waybill.orchestration.reconcile_dag import build_reconcile_dag

dag = build_reconcile_dag(doc_md=__doc__)
