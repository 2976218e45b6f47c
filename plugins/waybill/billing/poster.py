"""Post pending outbox invoices to the ERP invoice API, exactly once in effect.

Each invoice is sent with its outbox Idempotency-Key, so re-sending after a crash, a timeout
or a rerun returns the ERP's original document instead of billing twice. The outbox row is
marked posted only after the ERP answered; a crash in between leaves it pending, and the
next run re-sends it under the same key. Outcomes are written as each answer arrives, so a
killed poster loses at most the answers in flight.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from waybill.connectors.http import HttpClient, SourceUnavailable

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

MAX_WORKERS = 32


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
    path: str = "/invoices",
    concurrency: int = 4,
    run_id: str | None = None,
    rounds: int = 4,
) -> PostResult:
    """Send every pending outbox invoice to ``client`` and record each outcome in the outbox.

    2xx → posted with the ERP document number; 409 (the key already holds another body at the
    ERP) → ``conflict`` with the ERP's document number, never re-sent (a new key would bill
    twice); other 4xx (429 is retried by the client) → failed with the ERP's message, not
    retried blindly; an invoice the ERP keeps turning away (429, 5xx, timeouts, after the
    client's own retries) is sent again in up to ``rounds`` rounds with half the threads each,
    then left pending for the next run. Reads and writes ``ops.billing_outbox``.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select invoice_id, version, idempotency_key, body from ops.billing_outbox"
            " where status = 'pending' order by invoice_id, version"
        )
        pending = cur.fetchall()
    result = PostResult()
    workers = max(1, concurrency)
    for round_number in range(1, rounds + 1):
        if not pending:
            break
        # Later rounds only see what the ERP turned away (busy or down): fewer threads, so an
        # ERP whose real limit is below the configured one still gets everything.
        final = round_number == rounds
        unavailable = _post_round(conn, client, path, pending, workers, result, run_id, final)
        pending = [row for row in pending if (row[0], row[1]) in unavailable]
        workers = max(1, workers // 2)
        if pending and not final:
            log.warning(
                "ERP turned away %d invoices; round %d of %d with %d workers",
                len(pending),
                round_number + 1,
                rounds,
                workers,
            )
    return result


def _post_round(
    conn: psycopg.Connection,
    client: HttpClient,
    path: str,
    rows: list[tuple],
    workers: int,
    result: PostResult,
    run_id: str | None,
    final: bool,
) -> set[tuple[str, int]]:
    """Send ``rows``; record posted/failed/conflict at once; return the (invoice, version)
    pairs left unavailable (recorded as such only in the ``final`` round)."""
    unavailable: set[tuple[str, int]] = set()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_send, client, path, row): row for row in rows}
        for future in as_completed(futures):
            invoice_id, version, _key, _body = futures[future]
            outcome = future.result()
            if outcome[0] == "unavailable" and not final:
                unavailable.add((invoice_id, version))
                continue
            if outcome[0] == "unavailable":
                unavailable.add((invoice_id, version))
            _record(conn, invoice_id, version, outcome, result, run_id)
    return unavailable


def _send(client: HttpClient, path: str, row: tuple) -> tuple[str, Any]:
    invoice_id, _version, key, body = row
    try:
        response = client.request("POST", path, json=body, headers={"Idempotency-Key": key})
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
    with conn.transaction():
        if status == "posted":
            conn.execute(
                "update ops.billing_outbox set status = 'posted', erp_document_number = %s,"
                " posted_at = now(), attempts = attempts + 1, last_error = null,"
                " posted_run_id = %s where invoice_id = %s and version = %s",
                (detail, run_id, invoice_id, version),
            )
            result.posted += 1
            return
        if status == "conflict":
            document, message = detail
            conn.execute(
                "update ops.billing_outbox set status = 'conflict', erp_document_number = %s,"
                " attempts = attempts + 1, last_error = %s, posted_run_id = %s"
                " where invoice_id = %s and version = %s",
                (document, message, run_id, invoice_id, version),
            )
            result.conflict += 1
            result.errors.append(message)
            log.error("%s v%s: %s", invoice_id, version, message)
            return
        conn.execute(
            "update ops.billing_outbox set attempts = attempts + 1, last_error = %s,"
            " status = case when %s = 'failed' then 'failed' else status end"
            " where invoice_id = %s and version = %s",
            (detail, status, invoice_id, version),
        )
    if status == "failed":
        result.failed += 1
    else:
        result.unavailable += 1
    result.errors.append(detail)
    log.warning("%s v%s: %s", invoice_id, version, detail)
