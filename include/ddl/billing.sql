-- Billing post-back: the outbox is the single record of what should reach the ERP and what did;
-- holds say which invoices the gate kept back and why; reconciliation compares the ERP with us.
create schema if not exists ops;

create table if not exists ops.billing_outbox (
    invoice_id text not null,
    version integer not null,
    idempotency_key text not null unique,
    customer_id text not null,
    currency text not null,
    total_amount numeric(14, 2) not null,
    body jsonb not null,
    body_sha256 text not null,
    status text not null default 'pending'
        check (status in ('pending', 'posted', 'failed')),
    attempts integer not null default 0,
    erp_document_number text,
    last_error text,
    run_id text,
    created_at timestamptz not null default now(),
    posted_at timestamptz,
    primary key (invoice_id, version)
);
create index if not exists billing_outbox_pending on ops.billing_outbox (status)
    where status = 'pending';
-- Added after the walking skeleton: the shipment billed (no shipment is billed twice), the run
-- that posted the row, and 'conflict' (the ERP holds another body under this key: HTTP 409).
alter table ops.billing_outbox add column if not exists shipment_id text;
alter table ops.billing_outbox add column if not exists posted_run_id text;
-- The invoice as a versioned document (issue 11): every row is one intended ERP document of an
-- invoice thread (invoice_id, one per shipment): the first invoice, a credit note, a replacement
-- or an adjustment invoice. Its Idempotency-Key names that one document for good; a change
-- after posting becomes new rows, never an edit of a sent one.
--   kind      invoice | credit_note
--   purpose   first | replacement | adjustment | rebill | amendment_credit | revocation_credit
--             | dispute_credit
--   status    pending (queued) → sending (a request may be in flight: outcome unknown until
--             the ERP is asked) → posted; awaiting_approval → pending | rejected | held;
--             cancelled (superseded before it was ever sent); failed; conflict
alter table ops.billing_outbox add column if not exists document_id text;
alter table ops.billing_outbox add column if not exists kind text not null default 'invoice';
alter table ops.billing_outbox add column if not exists purpose text not null default 'first';
alter table ops.billing_outbox add column if not exists original_version integer;
alter table ops.billing_outbox add column if not exists dispute_id text;
alter table ops.billing_outbox add column if not exists content_sha256 text;
-- The lines a content-setting document brings its thread to (what the mart said then): the
-- next change is described against them.
alter table ops.billing_outbox add column if not exists content_lines jsonb;
alter table ops.billing_outbox add column if not exists cause text;
alter table ops.billing_outbox add column if not exists approval_required boolean not null
    default false;
alter table ops.billing_outbox add column if not exists decided_by text;
alter table ops.billing_outbox add column if not exists decided_at timestamptz;
do $$
begin
    -- Only when the old check is there: altering takes a lock we do not want on every start.
    if not exists (
        select 1 from pg_constraint
        where conname = 'billing_outbox_status_check'
            and pg_get_constraintdef(oid) like '%awaiting_approval%'
    ) then
        alter table ops.billing_outbox
            drop constraint if exists billing_outbox_status_check;
        alter table ops.billing_outbox add constraint billing_outbox_status_check
            check (status in (
                'pending', 'sending', 'posted', 'failed', 'conflict', 'cancelled',
                'awaiting_approval', 'rejected', 'held'
            ));
    end if;
end
$$;
create unique index if not exists billing_outbox_document on ops.billing_outbox (document_id);
create unique index if not exists billing_outbox_dispute on ops.billing_outbox (dispute_id)
    where dispute_id is not null and status not in ('cancelled', 'failed', 'rejected');

-- Append-only history of every document's state changes, each with its cause (which change,
-- which dispute, which run, who approved): the audit trail finance reads.
create table if not exists ops.billing_document_events (
    event_id bigint generated always as identity primary key,
    invoice_id text not null,
    version integer not null,
    status text not null,
    cause text,
    run_id text,
    actor text,
    at timestamptz not null default now()
);
create index if not exists billing_document_events_document
    on ops.billing_document_events (invoice_id, version);
create index if not exists billing_outbox_shipment on ops.billing_outbox (shipment_id);

-- One row per (invoice, rule) the gate failed; released_at is set when a later run finds the
-- data fixed, and the invoice then goes to the outbox in that same transaction.
create table if not exists ops.billing_holds (
    hold_id bigint generated always as identity primary key,
    invoice_id text not null,
    rule text not null,
    severity text not null default 'critical',
    observed_value text,
    run_id text,
    held_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    last_seen_run_id text,
    released_at timestamptz,
    released_run_id text
);
create unique index if not exists billing_holds_open
    on ops.billing_holds (invoice_id, rule) where released_at is null;

-- One row per post_billing run: what the gate decided and what posted (the report's trend).
create table if not exists ops.billing_runs (
    run_id text primary key,
    started_at timestamptz not null default now(),
    gate_passed boolean,
    gate_message text,
    invoices_checked integer not null default 0,
    invoices_held integer not null default 0,
    invoices_enqueued integer not null default 0,
    invoices_posted integer not null default 0,
    invoices_failed integer not null default 0,
    gate_seconds double precision,
    post_seconds double precision,
    finished_at timestamptz
);

-- One row per discrepancy found by reconcile_billing (none when the ERP matches the outbox).
create table if not exists ops.reconciliation (
    reconciliation_id bigint generated always as identity primary key,
    run_id text,
    checked_at timestamptz not null default now(),
    issue text not null
        check (issue in ('missing', 'duplicated', 'amount_mismatch', 'unknown')),
    invoice_id text,
    idempotency_key text,
    erp_document_numbers text,
    outbox_amount numeric(14, 2),
    erp_amount numeric(14, 2),
    detail text
);
-- Three-way reconciliation (issue 11): the mart (what should be billed now) against what Waybill
-- sent (the outbox) against what the ERP holds. Classes: missing_at_erp, duplicated_at_erp,
-- amount_drift, orphan_at_erp (critical: reconcile_billing fails) and unbilled_change (a change
-- the outbox has not brought to the ERP yet: held, awaiting approval or queued; reported).
alter table ops.reconciliation add column if not exists severity text not null
    default 'critical';
alter table ops.reconciliation add column if not exists mart_amount numeric(14, 2);
do $$
begin
    if not exists (
        select 1 from pg_constraint
        where conname = 'reconciliation_issue_check'
            and pg_get_constraintdef(oid) like '%amount_drift%'
    ) then
        -- Findings of the old two-way check name classes that no longer exist.
        delete from ops.reconciliation
        where issue in ('missing', 'duplicated', 'amount_mismatch', 'unknown');
        alter table ops.reconciliation drop constraint if exists reconciliation_issue_check;
        alter table ops.reconciliation add constraint reconciliation_issue_check
            check (issue in (
                'missing_at_erp', 'duplicated_at_erp', 'amount_drift', 'unbilled_change',
                'orphan_at_erp'
            ));
    end if;
end
$$;
