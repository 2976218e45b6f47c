"""
## post_billing

Airflow runs this DAG when the billing mart is rebuilt.

1. **gate_billing_ready** — the Great Expectations checkpoint (`expectations/`: `billing_ready` on
   `marts.fct_invoice_lines`, `warehouse_health` on `ops.load_batches`). A failed *critical batch*
   expectation (duplicate invoice keys, a source stale past its SLA) fails the run naming the
   expectation and its count: nothing posts.
2. **hold_and_enqueue** — invoices breaking a *row* rule go to `ops.billing_holds` (invoice, rule,
   observed value, time); the rest enter `ops.billing_outbox`, in the same transaction. A held
   invoice is released and queued on the first run after its data is fixed.
3. **post_to_erp** — the ERP invoice API (connection `erp_api`), one Idempotency-Key per invoice
   version, as fast as the ERP's rate limit allows: a rerun or a crash never bills twice.
4. **write_report** — `build/reports/billing/<run>/index.html` (and `latest`) for finance.
"""

from waybill.orchestration.billing_dag import build_billing_dag

dag = build_billing_dag(doc_md=__doc__)
