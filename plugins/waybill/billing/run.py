"""The billing steps the ``post_billing`` DAG runs after the gate: decide, post, report."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from waybill import warehouse
from waybill.billing.documents import billing_lock, plan_documents
from waybill.billing.holds import apply_holds
from waybill.billing.poster import post_pending, workers_for
from waybill.ingest import client_for
from waybill.sources import get_source

if TYPE_CHECKING:
    from waybill.connectors.http import HttpClient

log = logging.getLogger(__name__)


class GateNotPassed(RuntimeError):
    """The gate of this run stopped posting (or never ran): nothing may enter the outbox."""


def apply_gate(run_id: str, *, schema: str = "marts", require_verdict: bool = True) -> dict:
    """Turn the gate's verdict into holds and outbox rows, in one transaction.

    Reads the run's verdict from ``ops.billing_runs`` (written by the gate task, so any worker
    can run this step); raises :class:`GateNotPassed` if the gate stopped the run or never ran.
    Writes ``ops.billing_holds`` for every invoice breaking a row rule, releases holds whose data
    is fixed, plans every thread's next documents (:func:`~waybill.billing.documents.plan_documents`:
    first invoices, amendments, credit notes) into ``ops.billing_outbox`` and records the counts
    in ``ops.billing_runs``.
    """
    resolve_unknown_outcomes(run_id)
    if require_verdict:
        with warehouse.connect(role="poster") as conn:
            verdict = conn.execute(
                "select gate_passed, gate_message from ops.billing_runs where run_id = %s",
                (run_id,),
            ).fetchone()
        if verdict is None or verdict[0] is None:
            raise GateNotPassed(f"the gate has not run for {run_id}: nothing may be queued")
        if not verdict[0]:
            raise GateNotPassed(verdict[1] or f"the gate stopped run {run_id}")
    with warehouse.connect(role="poster") as conn:  # noqa: SIM117 - one-line change; reindent later
        with conn.transaction():
            # One decision at a time: a second run must see this one's holds and outbox rows.
            conn.execute("select pg_advisory_xact_lock(hashtext('waybill.billing.gate'))")
            billing_lock(conn)  # never plan over a document in flight
            holds = apply_holds(conn, run_id, schema)
            plan = plan_documents(conn, run_id, lines_table=f"{schema}.fct_invoice_lines")
            enqueued = len(plan.new)
            row = conn.execute(
                f"select count(distinct invoice_id) from {schema}.fct_invoice_lines"
            ).fetchone()
            assert row is not None  # an aggregate without group by returns one row
            checked = row[0]
            conn.execute(
                """
                insert into ops.billing_runs (
                    run_id, gate_passed, invoices_checked, invoices_held, invoices_enqueued
                ) values (%s, true, %s, %s, %s)
                on conflict (run_id) do update set
                    gate_passed = true, gate_message = null,
                    invoices_checked = excluded.invoices_checked,
                    invoices_held = excluded.invoices_held,
                    invoices_enqueued = excluded.invoices_enqueued
                """,
                (run_id, checked, holds["held_invoices"], enqueued),
            )
    summary = {"invoices_checked": checked, "enqueued": enqueued, **holds, **plan.counts()}
    log.info("gate decision: %s", summary)
    return summary


def resolve_unknown_outcomes(run_id: str | None) -> int:
    """Before planning over them, ask the ERP about documents whose outcome is unknown.

    A ``sending`` row (a crash or timeout after the request left) is looked up by its external
    id and recorded as posted or back to pending, under the billing lock, so the plan that
    follows never supersedes a document the ERP may hold. Needs the ERP only when such rows
    exist; returns how many were resolved.
    """
    from waybill.billing.poster import LOCK_KEY, resolve_uncertain

    with warehouse.connect(role="poster") as conn:
        row = conn.execute(
            "select count(*) from ops.billing_outbox where status = 'sending'"
        ).fetchone()
        conn.commit()
        if not row or not row[0]:
            return 0
        client, _limit = erp_client()
        conn.execute("select pg_advisory_lock(hashtext(%s))", (LOCK_KEY,))
        conn.commit()
        try:
            return resolve_uncertain(conn, client, run_id)
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))", (LOCK_KEY,))
            conn.commit()


def record_gate(run_id: str, *, passed: bool, message: str | None, seconds: float) -> None:
    """Record the gate's verdict and run time in ``ops.billing_runs`` (the report's trend)."""
    with warehouse.connect(role="poster") as conn:
        conn.execute(
            """
            insert into ops.billing_runs (run_id, gate_passed, gate_message, gate_seconds)
            values (%s, %s, %s, %s)
            on conflict (run_id) do update set
                gate_passed = excluded.gate_passed,
                gate_message = excluded.gate_message,
                gate_seconds = excluded.gate_seconds
            """,
            (run_id, passed, message, seconds),
        )
        conn.commit()


def run_failure_message(run_id: str) -> str:
    """Why ``run_id`` failed: the gate's verdict when the gate stopped it, else a pointer to logs."""
    with warehouse.connect(role="poster") as conn:
        row = conn.execute(
            "select gate_passed, gate_message from ops.billing_runs where run_id = %s", (run_id,)
        ).fetchone()
    if row and row[0] is False and row[1]:
        return f"post_billing {run_id}: {row[1]}"
    return f"post_billing {run_id}: a step failed; see its task log (nothing was posted twice)"


def erp_client() -> tuple[HttpClient, float]:
    """An HTTP client for the ERP (source ``erp``: connection, timeout, rate limit) and its limit."""
    erp = get_source("erp")
    return client_for(erp), erp.rate_limit_per_s


def post_invoices(run_id: str | None = None, *, concurrency: int | None = None) -> dict:
    """Post pending outbox rows to the ERP, as many in flight as its rate limit allows.

    Raises ``RuntimeError`` when the ERP stayed unavailable (those invoices stay pending and
    the task's retry, or the next run, re-sends them under the same keys).
    """
    client, rate_limit = erp_client()
    with warehouse.connect(role="poster") as conn:
        row = conn.execute(
            "select count(*) from ops.billing_outbox where status in ('pending', 'sending')"
        ).fetchone()
        assert row is not None  # an aggregate without group by returns one row
        pending = row[0]
        workers = concurrency or workers_for(rate_limit, pending)
        started = time.monotonic()
        result = post_pending(conn, client, concurrency=workers, run_id=run_id)
        seconds = time.monotonic() - started
        if run_id:
            conn.execute(
                "update ops.billing_runs set invoices_posted = invoices_posted + %s,"
                " invoices_failed = invoices_failed + %s, post_seconds = %s where run_id = %s",
                (result.posted, result.failed + result.conflict, seconds, run_id),
            )
            conn.commit()
    summary = {
        "posted": result.posted,
        "failed": result.failed,
        "conflict": result.conflict,
        "unavailable": result.unavailable,
        "workers": workers,
        "seconds": round(seconds, 3),
    }
    log.info("posting: %s", summary)
    if result.unavailable:
        raise RuntimeError(
            f"ERP unavailable for {result.unavailable} invoices (left pending): {result.errors[0]}"
        )
    return summary
