"""Finance approval of ERP documents above the approval limit (Airflow's human-in-the-loop).

The planner queues a document whose total exceeds the approval limit as ``awaiting_approval``
(:mod:`waybill.billing.documents`). Once per ``post_billing`` run, :func:`awaiting` lists those
documents, :func:`request_body` and :attr:`Waiting.option` turn them into one question for
finance (one option per document), and :func:`decide` applies the answer:

========================  ==========  ======================================================
answer                    status      ``last_error`` (the reason) / event cause
========================  ==========  ======================================================
document chosen           pending     — / ``approved`` (posted by the run's next step)
document not chosen       held        ``approval_rejected``
:data:`HOLD_ALL` chosen   held        ``approval_rejected`` (for every document, whatever else)
nobody answered in time   held        ``approval_timeout`` (:func:`response_timeout`)
========================  ==========  ======================================================

Who answered and when go in ``ops.billing_outbox`` (``decided_by``, ``decided_at``) and in
``ops.billing_document_events`` (``actor``, ``at``). A held document stays held until its
billable content changes (the planner then replaces it with a new document, asked again).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from waybill.billing.documents import billing_lock, record_events

if TYPE_CHECKING:
    from collections.abc import Collection
    from datetime import datetime

    import psycopg

TIMEOUT_ENV = "WAYBILL_APPROVAL_TIMEOUT_HOURS"
DEFAULT_TIMEOUT_HOURS = 24.0
APPROVED = "approved"
REJECTED = "approval_rejected"
TIMED_OUT = "approval_timeout"
# Airflow wants at least one option chosen: this one refuses the lot (and wins over the others,
# so an ambiguous answer posts nothing).
HOLD_ALL = "None of these: hold them all"

AWAITING_SQL = """
select invoice_id, version, document_id, kind, customer_id,
       to_char(total_amount, 'FM999999999990.00'), currency, coalesce(cause, purpose)
from ops.billing_outbox
where status = 'awaiting_approval'
order by document_id
"""


@dataclass(frozen=True)
class Waiting:
    """One document waiting for finance, as presented to them (and kept in XCom)."""

    invoice_id: str
    version: int
    document_id: str
    kind: str
    customer_id: str
    amount: str
    currency: str
    cause: str

    @property
    def option(self) -> str:
        """The answer finance picks to approve it: ``<document> · <customer> · <amount> <cur>``."""
        return f"{self.document_id} · {self.customer_id} · {self.amount} {self.currency}"

    def to_xcom(self) -> dict[str, Any]:
        """A JSON-ready dict (what the approval task reads back on resume)."""
        return asdict(self)

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> Waiting:
        """The inverse of :meth:`to_xcom`."""
        return cls(**value)


def options(documents: list[Waiting]) -> list[str]:
    """The answers finance can pick: one per document, then :data:`HOLD_ALL`."""
    return [doc.option for doc in documents] + [HOLD_ALL]


def response_timeout() -> timedelta:
    """How long finance has to answer: ``$WAYBILL_APPROVAL_TIMEOUT_HOURS`` (default 24).

    Raises ``ValueError`` naming the variable when it is not a positive number.
    """
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        hours = float(raw) if raw else DEFAULT_TIMEOUT_HOURS
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} is not a number of hours") from None
    if not hours > 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} must be a positive number of hours")
    return timedelta(hours=hours)


def awaiting(conn: psycopg.Connection) -> list[Waiting]:
    """Read the documents in ``ops.billing_outbox`` waiting for approval, by document id."""
    return [Waiting(*row) for row in conn.execute(AWAITING_SQL)]


def request_body(documents: list[Waiting], deadline: datetime | None) -> str:
    """The Markdown finance reads in Airflow's Required Actions: the documents and the rules."""
    kinds = {"invoice": "invoice", "credit_note": "credit note"}
    rows = "\n".join(
        f"| {d.document_id} | {kinds.get(d.kind, d.kind)} | {d.customer_id} "
        f"| {d.amount} {d.currency} | {d.cause} |"
        for d in documents
    )
    when = f" by **{deadline:%Y-%m-%d %H:%M} UTC**" if deadline else ""
    return (
        f"{len(documents)} ERP document(s) exceed the approval limit (`WAYBILL_APPROVAL_LIMIT`, "
        "or the customer's contract limit when smaller and `WAYBILL_APPROVALS=contract`).\n\n"
        "| Document | Kind | Customer | Amount | Cause |\n"
        "| --- | --- | --- | --- | --- |\n"
        f"{rows}\n\n"
        "**Select the documents to post**; they are sent to the ERP in this run. Documents not "
        f"selected are held (`{REJECTED}`); *{HOLD_ALL}* holds every one. Without an "
        f"answer{when} every one is held (`{TIMED_OUT}`)."
    )


def decide(
    conn: psycopg.Connection,
    documents: list[Waiting],
    chosen_options: Collection[str],
    *,
    decided_by: str | None,
    decided_at: datetime,
    timed_out: bool = False,
    run_id: str | None = None,
) -> dict[str, int]:
    """Apply finance's answer to ``documents`` (those presented), in one transaction.

    Chosen documents become ``pending``; the others ``held`` with ``last_error`` set to
    ``approval_rejected`` (or ``approval_timeout`` when ``timed_out``: nothing is chosen then);
    :data:`HOLD_ALL` among the chosen options holds them all.
    Only documents still ``awaiting_approval`` change, so applying an answer twice changes
    nothing. Writes ``ops.billing_outbox`` (status, ``decided_by``, ``decided_at``) and one
    ``ops.billing_document_events`` row per change (``actor`` = ``decided_by``); takes the
    billing lock. Returns ``{"approved": n, "rejected": n, "timed_out": n}``.
    """
    chosen = set() if timed_out or HOLD_ALL in chosen_options else set(chosen_options)
    refusal = TIMED_OUT if timed_out else REJECTED
    counts = {"approved": 0, "rejected": 0, "timed_out": 0}
    with conn.transaction(), conn.cursor() as cur:
        billing_lock(conn)
        events = []
        for doc in documents:
            approved = doc.option in chosen
            row = cur.execute(
                "update ops.billing_outbox set status = %s, last_error = %s,"
                " decided_by = %s, decided_at = %s"
                " where invoice_id = %s and version = %s and status = 'awaiting_approval'"
                " returning status",
                (
                    "pending" if approved else "held",
                    None if approved else refusal,
                    decided_by,
                    decided_at,
                    doc.invoice_id,
                    doc.version,
                ),
            ).fetchone()
            if row is None:
                continue  # decided already, or cancelled by a newer plan
            events.append((doc.invoice_id, doc.version, row[0], APPROVED if approved else refusal))
            counts["approved" if approved else "timed_out" if timed_out else "rejected"] += 1
        record_events(cur, [(*event, run_id) for event in events], actor=decided_by)
    return counts
