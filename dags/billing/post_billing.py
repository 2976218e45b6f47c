"""
## post_billing

Airflow runs this DAG when the billing mart is rebuilt.

1. **gate_billing_ready** — the Great Expectations checkpoint (`expectations/`: `billing_ready` on
   `marts.fct_invoice_lines`, `warehouse_health` on `ops.load_batches`). A failed *critical batch*
   expectation (duplicate invoice keys, a source stale past its SLA) fails the run naming the
   expectation and its count: nothing posts. The gate pushes its verdict to XCom;
   **record_gate_verdict** (which runs whatever the gate did) records it in `ops.billing_runs`.
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
4. **list_approvals → approve_documents → post_approved** — finance approval. A document (invoice
   or credit note) whose total exceeds the approval limit — `WAYBILL_APPROVAL_LIMIT`, or the
   customer's contract `approval_limit` when smaller and `WAYBILL_APPROVALS=contract` — is queued
   `awaiting_approval` and never posted by step 3. When any wait, **approve_documents** asks
   finance once per run in Airflow's *Required Actions* (human-in-the-loop): one option per
   document (`<document> · <customer> · <amount> <currency>`) and a table of them with their
   cause; pick the ones to post (or *None of these: hold them all*). Chosen documents become `pending` and
   **post_approved** sends them in the same run; the others are held (`held`, reason
   `approval_rejected`). With no answer within `WAYBILL_APPROVAL_TIMEOUT_HOURS` (default 24; the
   scheduler enforces it) all are held with reason `approval_timeout`. Who answered and when are
   in `ops.billing_outbox` (`decided_by`, `decided_at`) and `ops.billing_document_events`
   (`actor`). With nothing waiting, the step is skipped. A held document stays held until its
   billable content changes. While finance thinks, the next run of this DAG waits (one run at a
   time): keep the timeout short where runs are frequent.
5. **write_report** — `<artifacts>/billing/<run>/index.html` (and `latest`) for finance, where
   `<artifacts>` is `WAYBILL_ARTIFACTS_URL` (object storage shared by every worker; default
   `build/reports`), next to the gate's `gate.json` and GX Data Docs;
   written once step 3 is done (approvals still waiting are listed) and again
   (**refresh_report**) after the approved documents were posted.
"""

from waybill.orchestration.billing_dag import build_billing_dag

dag = build_billing_dag(doc_md=__doc__)
