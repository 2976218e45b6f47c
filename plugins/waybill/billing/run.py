"""The billing steps the ``post_billing`` DAG runs after the gate: fill the outbox, post it."""

from __future__ import annotations

import logging

from waybill import warehouse
from waybill.billing.invoices import billable_invoices
from waybill.billing.outbox import enqueue
from waybill.billing.poster import post_pending
from waybill.connections import get_endpoint
from waybill.connectors.http import HttpClient, RateLimiter
from waybill.load.schema import ensure_ops_schema
from waybill.sources import get_source

log = logging.getLogger(__name__)


def enqueue_invoices(run_id: str | None = None) -> dict:
    """Put every gated invoice into ``ops.billing_outbox`` (new versions only); return counts."""
    with warehouse.connect() as conn:
        ensure_ops_schema(conn)
        with conn.transaction():
            invoices = billable_invoices(conn)
            added = enqueue(conn, invoices, run_id)
    log.info("outbox: %d invoices gated, %d new outbox rows", len(invoices), added)
    return {"invoices": len(invoices), "enqueued": added}


def post_invoices(*, concurrency: int = 4) -> dict:
    """Post pending outbox rows to the ERP (source ``erp`` in sources.yaml: connection, timeout,
    rate limit); fail if any could not be sent."""
    erp = get_source("erp")
    endpoint = get_endpoint(erp.connection_id)
    client = HttpClient(
        source="erp",
        base_url=endpoint.base_url,
        headers=endpoint.auth_headers(),
        timeout_s=erp.timeout_s,
        rate_limiter=RateLimiter(erp.rate_limit_per_s) if erp.rate_limit_per_s else None,
    )
    with warehouse.connect() as conn:
        result = post_pending(conn, client, concurrency=concurrency)
    summary = {"posted": result.posted, "failed": result.failed, "unavailable": result.unavailable}
    log.info("posting: %s", summary)
    if result.unavailable:
        raise RuntimeError(
            f"ERP unavailable for {result.unavailable} invoices (left pending): {result.errors[0]}"
        )
    return summary
