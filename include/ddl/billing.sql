-- Billing post-back: the outbox is the single record of what should reach the ERP and what did.
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
