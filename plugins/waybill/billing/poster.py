"""Post pending outbox documents to the ERP, exactly once in effect.

Each document (invoice or credit note) is sent with its outbox Idempotency-Key, so re-sending
after a crash, a timeout or a rerun returns the ERP's original document instead of billing
twice. Before a request leaves, its row is committed as ``sending``: from then on its outcome is
unknown until the ERP answers. A later run asks the ERP (``GET …?external_id=<document>``)
about every ``sending`` row before anything else, and records what really happened — posted,
or not there (back to pending, re-sent under the same key). Credit notes go out only once the
invoice they credit is posted (they carry its ERP document number). Posting and planning take
the same advisory lock, so a plan never supersedes a document that is in flight.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from waybill.billing.documents import record_events
from waybill.connectors.http import HttpClient, SourceUnavailable

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

MAX_WORKERS = 32
LOCK_KEY = "waybill.billing.documents"
# Where each kind of document is posted and looked up, relative to the ERP base URL.
PATHS = {"invoice": "/invoices", "credit_note": "/credit-notes"}

PENDING_SQL = """
select outbox.invoice_id, outbox.version, outbox.idempotency_key, outbox.body, outbox.kind,
       original.erp_document_number
from ops.billing_outbox as outbox
left join ops.billing_outbox as original
    on outbox.kind = 'credit_note'
    and original.invoice_id = outbox.invoice_id
    and original.version = outbox.original_version
where outbox.status = 'pending'
    and (outbox.kind = 'invoice' or original.status = 'posted')
order by outbox.kind desc, outbox.invoice_id, outbox.version
"""


@dataclass
class PostResult:
    """What one posting run did."""

    posted: int = 0
    failed: int = 0
    conflict: int = 0
    unavailable: int = 0
    errors: list[str] = field(default_factory=list)


def workers_for(rate_limit_per_s: float, pending: int, latency_s: float = 0.25) -> int:
    """Threads enough to keep ``rate_limit_per_s`` requests in flight at ``latency_s`` each.

    The shared rate limiter, not the thread count, caps the request rate; threads only hide
    latency. Without a limit, a modest fixed pool.
    """
    wanted = math.ceil(rate_limit_per_s * latency_s) if rate_limit_per_s > 0 else 4
    return max(1, min(MAX_WORKERS, wanted, pending))


def post_pending(
    conn: psycopg.Connection,
    client: HttpClient,
    *,
    concurrency: int = 4,
    run_id: str | None = None,
    rounds: int = 4,
) -> PostResult:
    """Send every pending outbox document to the ERP and record each outcome in the outbox.

    First resolves every ``sending`` row by asking the ERP (:func:`resolve_uncertain`). Then,
    in phases, sends pending invoices and the credit notes whose original is posted (a credit
    note whose invoice posts in this phase goes in the next). 2xx → posted with the ERP document
    number; 409 (the key holds another body at the ERP) → ``conflict``, never re-sent; other 4xx
    → failed with the ERP's message; a document the ERP keeps turning away (429, 5xx, timeouts,
    after the client's own retries) is sent again in up to ``rounds`` rounds with half the
    threads each, then left ``sending`` (its outcome unknown) for the next run. Holds the billing
    lock throughout. Reads and writes ``ops.billing_outbox`` and its events.
    """
    result = PostResult()
    conn.execute("select pg_advisory_lock(hashtext(%s))", (LOCK_KEY,))
    conn.commit()
    try:
        resolve_uncertain(conn, client, run_id)
        for _phase in range(3):
            pending = conn.execute(PENDING_SQL).fetchall()
            conn.commit()
            if not pending:
                break
            _post_phase(conn, client, pending, concurrency, rounds, result, run_id)
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (LOCK_KEY,))
        conn.commit()
    return result


def resolve_uncertain(conn: psycopg.Connection, client: HttpClient, run_id: str | None) -> int:
    """Ask the ERP about every ``sending`` document and record the real outcome.

    Found under its external id → posted with the ERP's document number; absent → back to
    pending (it never landed; re-sending under the same key is safe). The ERP unreachable →
    left as it is. Returns how many were resolved.
    """
    rows = conn.execute(
        "select invoice_id, version, kind, document_id, body ->> 'external_id'"
        " from ops.billing_outbox where status = 'sending' order by invoice_id, version"
    ).fetchall()
    conn.commit()
    resolved = 0
    for invoice_id, version, kind, doc_id, external_id in rows:
        try:
            found = client.get_json(PATHS[kind], params={"external_id": external_id or doc_id})
        except SourceUnavailable as exc:
            log.warning("cannot ask the ERP about %s v%s yet: %s", invoice_id, version, exc)
            continue
        documents = found["data"] if isinstance(found, dict) else found
        matches = [d for d in documents if d.get("external_id") == (external_id or doc_id)]
        with conn.transaction(), conn.cursor() as cur:
            if matches:
                cur.execute(
                    "update ops.billing_outbox set status = 'posted', erp_document_number = %s,"
                    " posted_at = coalesce(posted_at, now()), posted_run_id = %s,"
                    " last_error = null where invoice_id = %s and version = %s",
                    (matches[0].get("document_number"), run_id, invoice_id, version),
                )
                record_events(
                    cur,
                    [
                        (
                            invoice_id,
                            version,
                            "posted",
                            "found at the ERP after an unknown outcome",
                            run_id,
                        )
                    ],
                )
            else:
                cur.execute(
                    "update ops.billing_outbox set status = 'pending'"
                    " where invoice_id = %s and version = %s",
                    (invoice_id, version),
                )
                record_events(
                    cur,
                    [
                        (
                            invoice_id,
                            version,
                            "pending",
                            "not at the ERP after an unknown outcome",
                            run_id,
                        )
                    ],
                )
        resolved += 1
    if resolved:
        log.info("resolved %d documents whose outcome was unknown", resolved)
    return resolved


def _post_phase(
    conn: psycopg.Connection,
    client: HttpClient,
    pending: list[tuple],
    concurrency: int,
    rounds: int,
    result: PostResult,
    run_id: str | None,
) -> None:
    workers = max(1, concurrency)
    with conn.transaction():
        conn.cursor().executemany(
            "update ops.billing_outbox set status = 'sending', attempts = attempts + 1"
            " where invoice_id = %s and version = %s",
            [(row[0], row[1]) for row in pending],
        )
    for round_number in range(1, rounds + 1):
        if not pending:
            break
        # Later rounds only see what the ERP turned away (busy or down): fewer threads, so an
        # ERP whose real limit is below the configured one still gets everything.
        final = round_number == rounds
        unavailable = _post_round(conn, client, pending, workers, result, run_id, final)
        pending = [row for row in pending if (row[0], row[1]) in unavailable]
        workers = max(1, workers // 2)
        if pending and not final:
            log.warning(
                "ERP turned away %d documents; round %d of %d with %d workers",
                len(pending),
                round_number + 1,
                rounds,
                workers,
            )


def _post_round(
    conn: psycopg.Connection,
    client: HttpClient,
    rows: list[tuple],
    workers: int,
    result: PostResult,
    run_id: str | None,
    final: bool,
) -> set[tuple[str, int]]:
    """Send ``rows``; record posted/failed/conflict at once; return the (invoice, version)
    pairs left unavailable (counted as such only in the ``final`` round)."""
    unavailable: set[tuple[str, int]] = set()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_send, client, row): row for row in rows}
        for future in as_completed(futures):
            invoice_id, version = futures[future][:2]
            outcome = future.result()
            if outcome[0] == "unavailable":
                unavailable.add((invoice_id, version))
                if not final:
                    continue
            _record(conn, invoice_id, version, outcome, result, run_id)
    return unavailable


def request_body(body: dict[str, Any], kind: str, original_document: str | None) -> dict[str, Any]:
    """The body as sent: a credit note names the ERP document number of what it credits."""
    if kind == "credit_note":
        return {**body, "original_document_id": original_document}
    return body


def _send(client: HttpClient, row: tuple) -> tuple[str, Any]:
    invoice_id, _version, key, body, kind, original_document = row
    try:
        response = client.request(
            "POST",
            PATHS[kind],
            json=request_body(body, kind, original_document),
            headers={"Idempotency-Key": key},
        )
    except SourceUnavailable as exc:
        return ("unavailable", str(exc))
    if response.ok:
        return ("posted", response.json().get("document_number"))
    message = f"ERP answered {response.status_code} for {invoice_id}: {response.text[:500]}"
    if response.status_code == 409:
        try:
            document = response.json().get("document_number")
        except ValueError:
            document = None
        return ("conflict", (document, message))
    return ("failed", message)


def _record(
    conn: psycopg.Connection,
    invoice_id: str,
    version: int,
    outcome: tuple[str, Any],
    result: PostResult,
    run_id: str | None,
) -> None:
    status, detail = outcome
    with conn.transaction(), conn.cursor() as cur:
        if status == "posted":
            cur.execute(
                "update ops.billing_outbox set status = 'posted', erp_document_number = %s,"
                " posted_at = now(), last_error = null,"
                " posted_run_id = %s where invoice_id = %s and version = %s",
                (detail, run_id, invoice_id, version),
            )
            record_events(cur, [(invoice_id, version, "posted", f"ERP document {detail}", run_id)])
            result.posted += 1
            return
        if status == "conflict":
            document, message = detail
            cur.execute(
                "update ops.billing_outbox set status = 'conflict', erp_document_number = %s,"
                " last_error = %s, posted_run_id = %s"
                " where invoice_id = %s and version = %s",
                (document, message, run_id, invoice_id, version),
            )
            record_events(cur, [(invoice_id, version, "conflict", message[:500], run_id)])
            result.conflict += 1
            result.errors.append(message)
            log.error("%s v%s: %s", invoice_id, version, message)
            return
        # failed: the ERP refused it; unavailable: its outcome stays unknown (``sending``).
        cur.execute(
            "update ops.billing_outbox set last_error = %s,"
            " status = case when %s = 'failed' then 'failed' else status end"
            " where invoice_id = %s and version = %s",
            (detail, status, invoice_id, version),
        )
        if status == "failed":
            record_events(cur, [(invoice_id, version, "failed", detail[:500], run_id)])
    if status == "failed":
        result.failed += 1
    else:
        result.unavailable += 1
    result.errors.append(detail)
    log.warning("%s v%s: %s", invoice_id, version, detail)
