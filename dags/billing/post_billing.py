"""
## post_billing

Airflow runs this DAG when the billing mart is rebuilt. The `billing_ready` Great Expectations checkpoint
(`expectations/`) gates everything: a failed critical expectation fails this DAG and nothing
posts. Then gated invoices enter `ops.billing_outbox` and are posted to the ERP invoice API
(connection `erp_api`) with an Idempotency-Key each, so a rerun or a crash never bills twice.
"""

from waybill.orchestration.billing_dag import build_billing_dag

dag = build_billing_dag(doc_md=__doc__)
