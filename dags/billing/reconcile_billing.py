"""
## reconcile_billing

Airflow runs this DAG daily. It lists every invoice the ERP received (`GET /erp/invoices`) and
compares it with `ops.billing_outbox`: **missing** (posted by us, unknown to the ERP),
**duplicated** (one invoice number on two ERP documents), **amount_mismatch**, **unknown** (a
Waybill key we never sent). Each discrepancy is a row in `ops.reconciliation`; the run fails if
there is any.
"""

from waybill.orchestration.reconcile_dag import build_reconcile_dag

dag = build_reconcile_dag(doc_md=__doc__)
