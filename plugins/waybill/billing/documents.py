"""The invoice as a versioned document: what the ERP must receive next for each invoice thread.

An invoice *thread* (``invoice_id``, one per shipment) is a sequence of ERP documents in
``ops.billing_outbox``: the first invoice, then whatever its later life needs — credit notes,
replacement invoices, adjustment invoices. A document, once queued, is never edited: its
Idempotency-Key (``waybill:<invoice_id>:v<version>``) names that one document for good, across
retries, reruns and workers. What changes after posting becomes new documents.

:func:`plan_documents` compares, per thread, what the mart says should be billed now
(``fct_invoice_lines``, the GX-gated batch) with what the thread's live documents bill, and
queues the difference, under the customer's contract ``amendment_policy``:

``credit_and_rebill``
    a credit note for the open balance of each live invoice, then a replacement invoice for the
    new content (less the credits already granted on accepted disputes, carried as lines);
``adjustment``
    one adjustment invoice for a positive difference, or one credit note for a negative one.

A thread the mart says must no longer be billed (order cancelled, POD reversed, charges voided:
``fct_shipment_to_invoice``) gets credit notes for every open balance — a thread merely missing
from the batch is left alone; an accepted dispute gets exactly one credit note for the disputed
amount (never more than the disputed invoice's open balance); a rejected one gets none. Threads
with an open gate hold get no new invoice (their credits still go). A queued document that is
not at the ERP is cancelled when a newer plan replaces it; one whose outcome is unknown
(``sending``) is looked up at the ERP before planning and otherwise kept and built upon, so
nothing that may have reached the ERP is ever superseded.
Documents above the approval limit wait for finance (``awaiting_approval``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from psycopg import sql
from psycopg.rows import class_row, dict_row

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Statuses of a document that is (or may be) at the ERP, or will be sent as it stands.
SENT_OR_SENDING = ("posted", "sending", "conflict")
UNSENT = ("pending", "awaiting_approval", "held")
POLICIES = ("credit_and_rebill", "adjustment")
DEFAULT_POLICY = "credit_and_rebill"
APPROVAL_LIMIT_ENV = "WAYBILL_APPROVAL_LIMIT"
CONTRACT_LIMITS_ENV = "WAYBILL_APPROVALS"

TARGETS_SQL = """
select
    invoice_id,
    min(shipment_id) as shipment_id,
    min(order_number) as order_number,
    min(customer_id) as customer_id,
    min(currency) as currency,
    min(invoice_date)::text as invoice_date,
    jsonb_agg(
        jsonb_build_object(
            'line_number', invoice_line_number,
            'shipment_reference', order_number,
            'charge_code', charge_code,
            'description', coalesce(description, ''),
            'amount', to_char(amount, 'FM999999999990.00')
        )
        order by invoice_line_number
    ) as lines
from {lines}
group by invoice_id
"""

DOCUMENTS_SQL = """
select
    invoice_id, version, kind, purpose, status, total_amount as total, content_sha256,
    original_version, dispute_id, attempts, shipment_id, customer_id, currency,
    case when content_sha256 is null and kind = 'invoice' then body -> 'lines' end
        as legacy_lines,
    coalesce(content_lines, case when kind = 'invoice' and purpose in ('first', 'rebill')
        then body -> 'lines' end) as content_lines
from ops.billing_outbox
where status not in ('cancelled', 'rejected')
order by invoice_id, version
"""


@dataclass
class Target:
    """What the mart says one thread should bill now."""

    invoice_id: str
    shipment_id: str
    order_number: str
    customer_id: str
    currency: str
    invoice_date: str
    lines: list[dict[str, Any]]

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((Decimal(line["amount"]) for line in self.lines), ZERO)

    @property
    def content_sha256(self) -> str:
        """A hash of what is billed (see :func:`lines_sha256`)."""
        return lines_sha256(self.lines)


@dataclass
class Document:
    """One row of ``ops.billing_outbox`` as the planner sees it."""

    invoice_id: str
    version: int
    kind: str
    purpose: str
    status: str
    total: Decimal
    content_sha256: str | None
    original_version: int | None
    dispute_id: str | None
    attempts: int
    shipment_id: str | None
    customer_id: str
    currency: str
    content_lines: list[dict[str, Any]] | None = None

    @property
    def live(self) -> bool:
        """At the ERP, possibly at the ERP, or to be sent as it stands."""
        return self.status in SENT_OR_SENDING or self.status in UNSENT

    @property
    def cancellable(self) -> bool:
        """Not at the ERP and no request in flight: a newer plan may replace it.

        Holds under the billing lock: a ``pending`` document was either never sent or was
        looked up at the ERP and not found (:func:`waybill.billing.poster.resolve_uncertain`);
        only a ``sending`` one may have landed.
        """
        return self.status in UNSENT


@dataclass
class Dispute:
    """A customer dispute the ERP resolved, against one of our posted invoices."""

    dispute_id: str
    invoice_id: str
    version: int
    amount: Decimal
    reason_code: str
    status: str


@dataclass
class Plan:
    """What one planning pass decided."""

    new: list[dict[str, Any]] = field(default_factory=list)
    cancel: list[tuple[str, int, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """New documents by purpose, and cancellations."""
        out: dict[str, int] = {}
        for doc in self.new:
            out[doc["purpose"]] = out.get(doc["purpose"], 0) + 1
        if self.cancel:
            out["cancelled"] = len(self.cancel)
        return out


def canonical_sha256(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def lines_sha256(lines: list[dict[str, Any]]) -> str:
    """A hash of what invoice lines bill: charge code, description and amount per line."""
    return canonical_sha256([[ln["charge_code"], ln["description"], ln["amount"]] for ln in lines])


def describe_change(before: list[dict[str, Any]] | None, after: list[dict[str, Any]]) -> str:
    """Which charges changed, for the document's cause: ``LINEHAUL 100.00→130.00, +LIFTGATE
    85.00, −RESIDENTIAL 6.00``."""
    if before is None:
        return "billable content changed after posting"

    def amounts(lines: list[dict[str, Any]]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for line in lines:
            out[line["charge_code"]] = out.get(line["charge_code"], ZERO) + Decimal(line["amount"])
        return out

    old, new = amounts(before), amounts(after)
    parts = []
    for code in sorted(set(old) | set(new)):
        if code not in old:
            parts.append(f"+{code} {money(new[code])}")
        elif code not in new:
            parts.append(f"−{code} {money(old[code])}")
        elif old[code] != new[code]:
            parts.append(f"{code} {money(old[code])}→{money(new[code])}")
    return "changed after posting: " + (", ".join(parts) or "descriptions only")


def money(value: Decimal) -> str:
    """A 2-decimal string, as the ERP wants amounts."""
    return f"{value.quantize(CENT):.2f}"


def document_id(invoice_id: str, version: int, kind: str) -> str:
    """Our id of a document, sent as ``external_id``: the thread id for its first invoice,
    ``<thread>.<version>`` for later invoices, ``CN-<order>.<version>`` for credit notes."""
    if kind == "credit_note":
        return f"CN-{invoice_id.removeprefix('INV-')}.{version}"
    return invoice_id if version == 1 else f"{invoice_id}.{version}"


def idempotency_key(invoice_id: str, version: int) -> str:
    """The key that names one document for good."""
    return f"waybill:{invoice_id}:v{version}"


def approval_limit_from_env() -> Decimal | None:
    """The global approval limit (``$WAYBILL_APPROVAL_LIMIT``), or None when unset."""
    value = os.environ.get(APPROVAL_LIMIT_ENV, "").strip()
    return Decimal(value) if value else None


def contract_limits_enabled() -> bool:
    """Whether the customers' contract approval limits apply (``$WAYBILL_APPROVALS=contract``).

    Off by default: with no one to approve, a pipeline would otherwise hold every large
    document. The global ``$WAYBILL_APPROVAL_LIMIT`` applies whenever it is set.
    """
    return os.environ.get(CONTRACT_LIMITS_ENV, "").strip().lower() == "contract"


class Thread:
    """The live documents of one invoice thread and the balances they leave open."""

    def __init__(self, invoice_id: str, documents: list[Document]):
        self.invoice_id = invoice_id
        self.documents = documents
        self.next_version = max((d.version for d in documents), default=0) + 1

    @property
    def live(self) -> list[Document]:
        """Documents at, possibly at, or bound for the ERP."""
        return [d for d in self.documents if d.live]

    def open_balance(self, version: int) -> Decimal:
        """An invoice's total less the live credit notes against it."""
        doc = next(d for d in self.documents if d.version == version)
        credited = sum(
            (
                d.total
                for d in self.live
                if d.kind == "credit_note" and d.original_version == version
            ),
            ZERO,
        )
        return doc.total - credited

    def open_invoices(self) -> list[Document]:
        """Live invoices with a positive open balance, oldest first."""
        return [d for d in self.live if d.kind == "invoice" and self.open_balance(d.version) > ZERO]

    @property
    def net(self) -> Decimal:
        """What the live documents bill: invoices less credit notes."""
        return sum(
            (d.total if d.kind == "invoice" else -d.total for d in self.live),
            ZERO,
        )

    @property
    def billed_content(self) -> str | None:
        """The content the thread bills now: that of its latest live content-setting document
        (a revocation credit sets none); None when nothing is billed."""
        for doc in sorted(self.live, key=lambda d: d.version, reverse=True):
            if doc.purpose == "dispute_credit":
                continue
            if doc.purpose in ("revocation_credit",):
                return None
            if doc.content_sha256 is not None:
                return doc.content_sha256
        return None

    @property
    def billed_lines(self) -> list[dict[str, Any]] | None:
        """The lines behind :attr:`billed_content`, when recorded."""
        for doc in sorted(self.live, key=lambda d: d.version, reverse=True):
            if doc.purpose == "dispute_credit":
                continue
            if doc.purpose == "revocation_credit":
                return None
            if doc.content_sha256 is not None:
                return doc.content_lines
        return None

    def dispute_credits(self) -> list[Document]:
        """Live credit notes granted on disputes."""
        return [d for d in self.live if d.purpose == "dispute_credit"]

    def add(self, doc: Document) -> None:
        """Record a document planned in this pass."""
        self.documents.append(doc)
        self.next_version = doc.version + 1


def load_targets(conn: psycopg.Connection, lines_table: str) -> dict[str, Target]:
    """Read the gated batch, one :class:`Target` per thread."""
    schema, table = lines_table.split(".")
    query = sql.SQL(TARGETS_SQL).format(lines=sql.Identifier(schema, table))
    with conn.cursor(row_factory=class_row(Target)) as cur:
        return {target.invoice_id: target for target in cur.execute(query)}


def load_threads(conn: psycopg.Connection) -> dict[str, Thread]:
    """Read every thread's documents (cancelled and rejected ones are history only)."""
    by_thread: dict[str, list[Document]] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for row in cur.execute(DOCUMENTS_SQL):
            legacy_lines = row.pop("legacy_lines")
            if legacy_lines is not None:  # queued before documents were versioned
                row["content_sha256"] = lines_sha256(legacy_lines)
            doc = Document(**row)
            by_thread.setdefault(doc.invoice_id, []).append(doc)
    return {key: Thread(key, docs) for key, docs in by_thread.items()}


def _relation_exists(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()
    return bool(row and row[0])


def load_resolved_disputes(conn: psycopg.Connection, disputes_table: str) -> list[Dispute]:
    """Disputes the ERP resolved against documents of ours (by external id, else by the ERP's
    document number)."""
    if not _relation_exists(conn, disputes_table):
        return []
    schema, table = disputes_table.split(".")
    query = sql.SQL(
        """
        select disputes.dispute_id, outbox.invoice_id, outbox.version,
               disputes.disputed_amount, disputes.reason_code, disputes.dispute_status
        from {table} as disputes
        inner join ops.billing_outbox as outbox
            -- Our document id (the ERP's external_id) names the invoice for sure; the ERP's
            -- document number only within one ERP.
            on case
                when disputes.external_id is not null
                    then disputes.external_id = coalesce(outbox.document_id, outbox.invoice_id)
                else disputes.document_number = outbox.erp_document_number
            end
        where disputes.dispute_status in ('accepted', 'rejected') and outbox.kind = 'invoice'
        order by disputes.dispute_id
        """
    ).format(table=sql.Identifier(schema, table))
    return [Dispute(r[0], r[1], r[2], Decimal(r[3]), r[4], r[5]) for r in conn.execute(query)]


def load_policies(conn: psycopg.Connection, schema: str) -> dict[str, tuple[str, Decimal | None]]:
    """Per customer: (amendment policy, approval limit) from ``dim_customers`` when it has them."""
    columns = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = 'dim_customers'",
            (schema,),
        )
    }
    if not {"amendment_policy", "approval_limit"} <= columns:
        return {}
    query = sql.SQL("select customer_id, amendment_policy, approval_limit from {table}").format(
        table=sql.Identifier(schema, "dim_customers")
    )
    use_limits = contract_limits_enabled()
    return {
        r[0]: (r[1] if r[1] in POLICIES else DEFAULT_POLICY, r[2] if use_limits else None)
        for r in conn.execute(query)
    }


def load_revoked(conn: psycopg.Connection, schema: str) -> set[str]:
    """Threads the mart says must no longer be billed: the order was cancelled, the POD was
    withdrawn, or every charge was voided (``fct_shipment_to_invoice``).

    Only an explicit verdict revokes: a thread merely missing from the batch (a partial build,
    another scope) is left as it is. A missing relation revokes nothing.
    """
    table = f"{schema}.fct_shipment_to_invoice"
    if not _relation_exists(conn, table):
        return set()
    query = sql.SQL(
        """
        select 'INV-' || order_number
        from {table}
        where billing_status in ('held', 'not_ready')
            and (
                hold_reasons && array['cancelled', 'missing_pod']::text[]
                or charge_count = 0
            )
        """
    ).format(table=sql.Identifier(schema, "fct_shipment_to_invoice"))
    return {row[0] for row in conn.execute(query)}


def open_holds(conn: psycopg.Connection) -> set[str]:
    """Threads with an open gate hold."""
    return {
        r[0]
        for r in conn.execute(
            "select distinct invoice_id from ops.billing_holds where released_at is null"
        )
    }


class Planner:
    """Decides the next documents of every thread (pure: reads nothing, writes nothing)."""

    def __init__(
        self,
        *,
        today: str,
        policies: dict[str, tuple[str, Decimal | None]],
        approval_limit: Decimal | None,
        run_id: str | None,
    ):
        self.today = today
        self.policies = policies
        self.approval_limit = approval_limit
        self.run_id = run_id
        self.plan = Plan()

    def _limit(self, customer_id: str) -> Decimal | None:
        limits = [self.approval_limit, self.policies.get(customer_id, (None, None))[1]]
        present = [Decimal(v) for v in limits if v is not None]
        return min(present) if present else None

    def _queue(
        self,
        thread: Thread,
        *,
        kind: str,
        purpose: str,
        total: Decimal,
        lines: list[dict[str, Any]],
        customer_id: str,
        currency: str,
        shipment_id: str | None,
        cause: str,
        content_sha256: str | None = None,
        content_lines: list[dict[str, Any]] | None = None,
        original: Document | None = None,
        dispute_id: str | None = None,
        reason_code: str | None = None,
        invoice_date: str | None = None,
    ) -> Document:
        version = thread.next_version
        doc_id = document_id(thread.invoice_id, version, kind)
        if kind == "invoice":
            body: dict[str, Any] = {
                "invoice_number": doc_id,
                "external_id": doc_id,
                "customer_id": customer_id,
                "currency": currency,
                "invoice_date": invoice_date or self.today,
                "total_amount": money(total),
                "lines": lines,
            }
        else:
            assert original is not None  # a credit note always names what it credits
            body = {
                "credit_note_number": doc_id,
                "external_id": doc_id,
                "customer_id": customer_id,
                "currency": currency,
                "credit_date": self.today,
                "reason_code": reason_code or purpose,
                "total_amount": money(total),
                "lines": lines,
            }
            if dispute_id:
                body["dispute_id"] = dispute_id
        limit = self._limit(customer_id)
        needs_approval = limit is not None and total > limit
        row: dict[str, Any] = {
            "invoice_id": thread.invoice_id,
            "version": version,
            "document_id": doc_id,
            "idempotency_key": idempotency_key(thread.invoice_id, version),
            "kind": kind,
            "purpose": purpose,
            "customer_id": customer_id,
            "currency": currency,
            "total_amount": money(total),
            "body": body,
            "body_sha256": canonical_sha256(body),
            "status": "awaiting_approval" if needs_approval else "pending",
            "approval_required": needs_approval,
            "content_sha256": content_sha256,
            "content_lines": content_lines,
            "original_version": original.version if original else None,
            "dispute_id": dispute_id,
            "shipment_id": shipment_id,
            "cause": cause,
            "run_id": self.run_id,
        }
        self.plan.new.append(row)
        doc = Document(
            invoice_id=thread.invoice_id,
            version=version,
            kind=kind,
            purpose=purpose,
            status=row["status"],
            total=total,
            content_sha256=content_sha256,
            original_version=row["original_version"],
            dispute_id=dispute_id,
            attempts=0,
            shipment_id=shipment_id,
            customer_id=customer_id,
            currency=currency,
            content_lines=content_lines,
        )
        thread.add(doc)
        return doc

    def _credit(
        self,
        thread: Thread,
        original: Document,
        amount: Decimal,
        *,
        purpose: str,
        cause: str,
        order_number: str,
        dispute_id: str | None = None,
        reason_code: str | None = None,
    ) -> Document | None:
        """A credit note for ``amount`` against ``original``, capped by its open balance."""
        amount = min(amount, thread.open_balance(original.version))
        if amount <= ZERO:
            return None
        label = {
            "dispute_credit": f"Credit for dispute {dispute_id}",
            "amendment_credit": "Credit of the amended invoice",
            "revocation_credit": "Credit: shipment no longer billable",
        }[purpose]
        line = {
            "line_number": 1,
            "shipment_reference": order_number,
            "charge_code": "CREDIT",
            "description": label,
            "amount": money(amount),
        }
        return self._queue(
            thread,
            kind="credit_note",
            purpose=purpose,
            total=amount,
            lines=[line],
            customer_id=original.customer_id,
            currency=original.currency,
            shipment_id=original.shipment_id,
            cause=cause,
            original=original,
            dispute_id=dispute_id,
            reason_code=reason_code,
        )

    def cancel_unsent(self, thread: Thread, reason: str) -> None:
        """Cancel the thread's queued documents that were never sent."""
        for doc in thread.live:
            if doc.cancellable and all(doc.version != v for _, v, _ in self.plan.cancel):
                self.plan.cancel.append((thread.invoice_id, doc.version, reason))
                doc.status = "cancelled"

    def disputes(self, thread: Thread, disputes: list[Dispute], order_number: str) -> None:
        """One credit note per accepted dispute not yet credited; none for rejected ones."""
        credited = {d.dispute_id for d in thread.live if d.dispute_id}
        for dispute in disputes:
            if dispute.status != "accepted" or dispute.dispute_id in credited:
                continue
            original = next(d for d in thread.documents if d.version == dispute.version)
            self._credit(
                thread,
                original,
                dispute.amount,
                purpose="dispute_credit",
                cause=f"dispute {dispute.dispute_id} accepted ({dispute.reason_code})",
                order_number=order_number,
                dispute_id=dispute.dispute_id,
                reason_code=dispute.reason_code,
            )

    def revoke(self, thread: Thread, order_number: str) -> None:
        """The shipment is no longer billable: credit every open balance."""
        self.cancel_unsent(thread, "superseded: shipment no longer billable")
        for invoice in thread.open_invoices():
            self._credit(
                thread,
                invoice,
                thread.open_balance(invoice.version),
                purpose="revocation_credit",
                cause="shipment no longer billable (cancelled, POD reversed or charges voided)",
                order_number=order_number,
            )

    def bill(self, thread: Thread, target: Target) -> None:
        """Bring the thread to the target content: first invoice, or an amendment."""
        content = target.content_sha256
        if thread.billed_content == content:
            return
        failed_same = [
            d for d in thread.documents if d.status == "failed" and d.content_sha256 == content
        ]
        if failed_same:
            return  # the ERP refused this very content; a person must look, not a loop
        # Whatever was queued but never sent is replaced by this plan.
        self.cancel_unsent(thread, f"superseded by content {content[:12]}")
        sent_invoices = thread.open_invoices()
        concessions = thread.dispute_credits()
        if not sent_invoices:
            purpose = "first" if not thread.live else "rebill"
            self._queue(
                thread,
                kind="invoice",
                purpose=purpose,
                total=target.total,
                lines=target.lines,
                customer_id=target.customer_id,
                currency=target.currency,
                shipment_id=target.shipment_id,
                cause="first billing" if purpose == "first" else "billable again",
                content_sha256=content,
                content_lines=target.lines,
                invoice_date=target.invoice_date if purpose == "first" else None,
            )
            return
        change = describe_change(thread.billed_lines, target.lines)
        policy = self.policies.get(target.customer_id, (DEFAULT_POLICY, None))[0]
        conceded = sum((d.total for d in concessions), ZERO)
        wanted = target.total - conceded
        if policy == "adjustment":
            delta = wanted - thread.net
            if delta > ZERO:
                line = {
                    "line_number": 1,
                    "shipment_reference": target.order_number,
                    "charge_code": "ADJUSTMENT",
                    "description": f"Adjustment of {sent_invoices[0].invoice_id}",
                    "amount": money(delta),
                }
                self._queue(
                    thread,
                    kind="invoice",
                    purpose="adjustment",
                    total=delta,
                    lines=[line],
                    customer_id=target.customer_id,
                    currency=target.currency,
                    shipment_id=target.shipment_id,
                    cause=change,
                    content_sha256=content,
                    content_lines=target.lines,
                )
                return
            if delta < ZERO:
                remaining = -delta
                for invoice in reversed(sent_invoices):
                    credit = self._credit(
                        thread,
                        invoice,
                        remaining,
                        purpose="amendment_credit",
                        cause=change,
                        order_number=target.order_number,
                    )
                    if credit is not None:
                        credit.content_sha256 = content
                        credit.content_lines = target.lines
                        self.plan.new[-1]["content_sha256"] = content
                        self.plan.new[-1]["content_lines"] = target.lines
                        remaining -= credit.total
                    if remaining <= ZERO:
                        break
                return
            # Same amount, different content: fall through to credit and rebill.
        for invoice in sent_invoices:
            self._credit(
                thread,
                invoice,
                thread.open_balance(invoice.version),
                purpose="amendment_credit",
                cause=change,
                order_number=target.order_number,
            )
        lines = [dict(line) for line in target.lines]
        for n, concession in enumerate(concessions, start=len(lines) + 1):
            lines.append(
                {
                    "line_number": n,
                    "shipment_reference": target.order_number,
                    "charge_code": "DISPUTE_CREDIT",
                    "description": f"Credit granted on dispute {concession.dispute_id}",
                    "amount": money(-concession.total),
                }
            )
        self._queue(
            thread,
            kind="invoice",
            purpose="replacement",
            total=wanted,
            lines=lines,
            customer_id=target.customer_id,
            currency=target.currency,
            shipment_id=target.shipment_id,
            cause=change,
            content_sha256=content,
            content_lines=target.lines,
        )


def plan_documents(
    conn: psycopg.Connection,
    run_id: str | None,
    *,
    lines_table: str = "marts.fct_invoice_lines",
    disputes_table: str = "staging.stg_erp__disputes",
    today: str | None = None,
) -> Plan:
    """Decide and queue every thread's next documents; returns what was decided.

    Reads the gated batch (``lines_table``), ``ops.billing_outbox``, open holds, resolved
    disputes and the customers' contract settings; writes new ``ops.billing_outbox`` rows,
    cancels superseded unsent ones and appends ``ops.billing_document_events``, all in the
    caller's transaction (which must hold the billing lock, see :func:`billing_lock`).
    """
    schema = lines_table.split(".")[0]
    targets = load_targets(conn, lines_table)
    threads = load_threads(conn)
    held = open_holds(conn)
    revoked = load_revoked(conn, schema)
    disputes: dict[str, list[Dispute]] = {}
    for dispute in load_resolved_disputes(conn, disputes_table):
        disputes.setdefault(dispute.invoice_id, []).append(dispute)
    planner = Planner(
        today=today or datetime.now(UTC).date().isoformat(),
        policies=load_policies(conn, schema),
        approval_limit=approval_limit_from_env(),
        run_id=run_id,
    )
    orders = {t.invoice_id: t.order_number for t in targets.values()}
    for invoice_id in sorted(set(targets) | set(threads)):
        thread = threads.get(invoice_id) or Thread(invoice_id, [])
        target = targets.get(invoice_id)
        order_number = orders.get(invoice_id) or invoice_id.removeprefix("INV-")
        planner.disputes(thread, disputes.get(invoice_id, []), order_number)
        if target is None:
            if invoice_id in revoked:
                planner.revoke(thread, order_number)
            continue
        if invoice_id in held:
            continue
        planner.bill(thread, target)
    write_plan(conn, planner.plan)
    hold_rule_breakers(conn, planner.plan, run_id)
    if planner.plan.new or planner.plan.cancel:
        log.info("documents planned: %s", planner.plan.counts())
    return planner.plan


INSERT_SQL = """
insert into ops.billing_outbox (
    invoice_id, version, document_id, idempotency_key, kind, purpose, customer_id, currency,
    total_amount, body, body_sha256, status, approval_required, content_sha256,
    original_version, dispute_id, shipment_id, cause, run_id, content_lines
) values (
    %(invoice_id)s, %(version)s, %(document_id)s, %(idempotency_key)s, %(kind)s, %(purpose)s,
    %(customer_id)s, %(currency)s, %(total_amount)s, %(body)s, %(body_sha256)s, %(status)s,
    %(approval_required)s, %(content_sha256)s, %(original_version)s, %(dispute_id)s,
    %(shipment_id)s, %(cause)s, %(run_id)s, %(content_lines)s
)
"""


def write_plan(conn: psycopg.Connection, plan: Plan) -> None:
    """Write a plan: cancellations first, then the new documents, each with its event."""
    from psycopg.types.json import Jsonb

    with conn.cursor() as cur:
        if plan.cancel:
            cur.executemany(
                "update ops.billing_outbox set status = 'cancelled', last_error = %s"
                " where invoice_id = %s and version = %s and status in"
                " ('pending', 'awaiting_approval', 'held')",
                [(reason, inv, ver) for inv, ver, reason in plan.cancel],
            )
            record_events(
                cur, [(inv, ver, "cancelled", reason, None) for inv, ver, reason in plan.cancel]
            )
        if plan.new:
            cur.executemany(
                INSERT_SQL,
                [
                    {
                        **row,
                        "body": Jsonb(row["body"]),
                        "content_lines": Jsonb(row["content_lines"])
                        if row["content_lines"] is not None
                        else None,
                    }
                    for row in plan.new
                ],
            )
            record_events(
                cur,
                [
                    (row["invoice_id"], row["version"], row["status"], row["cause"], row["run_id"])
                    for row in plan.new
                ],
            )


def hold_rule_breakers(conn: psycopg.Connection, plan: Plan, run_id: str | None) -> int:
    """Hold the documents just planned for any thread that now breaks a ``billing_documents``
    rule (a credit above what was billed, a credit without its invoice, ...): status ``held``,
    the rule and what it observed as the reason. Returns how many were held."""
    from expectations.suites import billing_documents

    if not plan.new:
        return 0
    planned = {(row["invoice_id"], row["version"]) for row in plan.new}
    breaking: dict[str, str] = {}
    for rule in billing_documents.RULES:
        for invoice_id, observed in conn.execute(rule.sql("ops.billing_outbox", "ops")):
            breaking.setdefault(invoice_id, f"{rule.name}: {observed}")
    held = [(inv, ver, breaking[inv]) for inv, ver in sorted(planned) if inv in breaking]
    if held:
        with conn.cursor() as cur:
            cur.executemany(
                "update ops.billing_outbox set status = 'held', last_error = %s"
                " where invoice_id = %s and version = %s",
                [(reason, inv, ver) for inv, ver, reason in held],
            )
            record_events(cur, [(inv, ver, "held", reason, run_id) for inv, ver, reason in held])
        log.error("held %d planned documents breaking billing_documents rules", len(held))
    return len(held)


def record_events(
    cur: psycopg.Cursor, events: list[tuple[str, int, str, str | None, str | None]], actor=None
) -> None:
    """Append state changes to ``ops.billing_document_events``."""
    if events:
        cur.executemany(
            "insert into ops.billing_document_events (invoice_id, version, status, cause,"
            " run_id, actor) values (%s, %s, %s, %s, %s, %s)",
            [(*event, actor) for event in events],
        )


def billing_lock(conn: psycopg.Connection) -> None:
    """Take the transaction-scoped lock that serialises planning and posting."""
    conn.execute("select pg_advisory_xact_lock(hashtext('waybill.billing.documents'))")
