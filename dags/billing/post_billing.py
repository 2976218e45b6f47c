"""
## post_billing

Airflow runs this DAG when the billing mart is rebuilt.

1. **gate_billing_ready** — the Great Expectations checkpoint (`expectations/`: `billing_ready` on
   `marts.fct_invoice_lines`, `warehouse_health` on `ops.load_batches`). A failed *critical batch*
   expectation (duplicate invoice keys, a source stale past its SLA) fails the run naming the
   expectation and its count: nothing posts.
2. **hold_and_enqueue** — invoices breaking a *row* rule go to `ops.billing_holds` (invoice, rule,
   observed value, time); for the rest, the planner queues each shipment's next ERP documents in
   `ops.billing_outbox`, in the same transaction: the first invoice, or — when billable content
   changed after posting — a credit note and a replacement invoice (or an adjustment, per the
   customer's contract), a credit note for a cancelled shipment or a reversed POD, and one for
   each dispute the ERP accepted. A held invoice is released and queued on the first run after
   its data is fixed.
3. **post_to_erp** — the ERP invoice and credit-note APIs (connection `erp_api`), one
   Idempotency-Key per document for good, as fast as the ERP's rate limit allows. A document
   whose outcome is unknown (a crash or timeout after sending) is looked up at the ERP by its
   external id first: a rerun or a crash never bills twice.
4. **write_report** — `build/reports/billing/<run>/index.html` (and `latest`) for finance.
"""

from waybill.orchestration.billing_dag import build_billing_dag

dag = build_billing_dag(doc_md=__doc__)
