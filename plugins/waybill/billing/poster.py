"""Post pending outbox invoices to the ERP invoice API, exactly once in effect.

Each invoice is sent with its outbox Idempotency-Key, so re-sending after a crash, a timeout
or a rerun returns the ERP's original document instead of billing twice. The outbox row is
marked posted only after the ERP answered; a crash in between leaves it pending, and the
next run re-sends it under the same key.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from waybill.connectors.http import HttpClient, SourceUnavailable

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


@dataclass
class PostResult:
    """What one posting run did."""

    posted: int = 0
    failed: int = 0
    unavailable: int = 0
    errors: list[str] = field(default_factory=list)


def post_pending(
    conn: psycopg.Connection, client: HttpClient, *, path: str = "/invoices", concurrency: int = 4
) -> PostResult:
    """Send every pending outbox invoice to ``client`` and record each outcome in the outbox.

    2xx → posted with the ERP document number; 409 (same key, different body) and other 4xx
    (but 429, retried by the client) → failed with the ERP's message, not retried blindly;
    an ERP still unavailable after retries leaves the invoice pending for the next run.
    """
    with conn.cursor() as cur:
        cur.execute(
            "select invoice_id, version, idempotency_key, body from ops.billing_outbox"
            " where status = 'pending' order by invoice_id, version"
        )
        pending = cur.fetchall()
    result = PostResult()
    if not pending:
        return result
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = pool.map(lambda row: _send(client, path, row), pending)
        for (invoice_id, version, _key, _body), outcome in zip(pending, outcomes, strict=True):
            _record(conn, invoice_id, version, outcome, result)
    return result


def _send(client: HttpClient, path: str, row: tuple) -> tuple[str, Any]:
    invoice_id, _version, key, body = row
    try:
        response = client.request("POST", path, json=body, headers={"Idempotency-Key": key})
    except SourceUnavailable as exc:
        return ("unavailable", str(exc))
    if response.ok:
        return ("posted", response.json().get("document_number"))
    return (
        "failed",
        f"ERP answered {response.status_code} for {invoice_id}: {response.text[:500]}",
    )


def _record(
    conn: psycopg.Connection,
    invoice_id: str,
    version: int,
    outcome: tuple[str, Any],
    result: PostResult,
) -> None:
    status, detail = outcome
    with conn.transaction():
        if status == "posted":
            conn.execute(
                "update ops.billing_outbox set status = 'posted', erp_document_number = %s,"
                " posted_at = now(), attempts = attempts + 1, last_error = null"
                " where invoice_id = %s and version = %s",
                (detail, invoice_id, version),
            )
            result.posted += 1
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
