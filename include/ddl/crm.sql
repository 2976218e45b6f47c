-- Reverse ETL to the CRM (plugins/waybill/crm/): what the CRM has acknowledged, per record.
-- A record is sent again only when the payload Waybill wants differs from the acknowledged one,
-- so rerunning sync_crm sends nothing new, and a crash after the CRM accepted a batch but before
-- this table was written resends that batch once (the CRM's upsert by external id absorbs it).
create table if not exists ops.crm_sync_state (
    object text not null,                -- ShipmentStatus | Case (the CRM's object names)
    external_id text not null,           -- order number, or <order_number>:<exception>
    order_number text not null,
    exception text,                      -- delay, damage, … (cases only)
    payload jsonb not null,              -- the fields last sent
    payload_hash text not null,          -- md5 of the canonical payload text
    outcome text not null,               -- acknowledged | rejected
    crm_version integer,                 -- the CRM's record version after the write
    crm_message text,                    -- the CRM's message for a rejected record
    is_open boolean,                     -- cases: the exception still stands
    first_sent_at timestamptz not null default now(),
    acknowledged_at timestamptz not null default now(),
    run_id text,
    primary key (object, external_id)
);

-- One row per sync run: what was compared, sent, acknowledged and rejected.
create table if not exists ops.crm_sync_runs (
    run_id text primary key,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    crm_clock timestamptz,               -- the CRM's time when the run started (token issued_at)
    desired integer not null default 0,
    sent integer not null default 0,
    acknowledged integer not null default 0,
    rejected integer not null default 0,
    status text not null default 'running'
);
