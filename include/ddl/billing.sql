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
do $$
begin
    -- Only when the old check is there: altering takes a lock we do not want on every start.
    if not exists (
        select 1 from pg_constraint
        where conname = 'billing_outbox_status_check'
            and pg_get_constraintdef(oid) like '%conflict%'
    ) then
        alter table ops.billing_outbox
            drop constraint if exists billing_outbox_status_check;
        alter table ops.billing_outbox add constraint billing_outbox_status_check
            check (status in ('pending', 'posted', 'failed', 'conflict'));
    end if;
end
$$;
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
