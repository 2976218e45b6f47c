-- Operational tables every pipeline writes to. Idempotent: safe to run on every start.
create schema if not exists raw;
create schema if not exists ops;

-- One row per loader batch: what was read and where each record went.
create table if not exists ops.load_batches (
    batch_id uuid primary key,
    source text not null,
    entity text not null,
    run_id text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    status text not null default 'running',
    records_read integer not null default 0,
    records_landed integer not null default 0,
    records_duplicate integer not null default 0,
    records_dead_lettered integer not null default 0,
    watermark_before text,
    watermark_after text
);

-- Records that could not be landed, with the reason; deduplicated so a rerun counts nothing twice.
create table if not exists ops.dead_letters (
    dead_letter_id bigint generated always as identity primary key,
    dead_letter_key text not null unique,
    batch_id uuid not null,
    source text not null,
    entity text not null,
    record_location text not null,
    field text,
    reason text not null,
    raw_record text,
    created_at timestamptz not null default now()
);
create index if not exists dead_letters_source_entity on ops.dead_letters (source, entity);

-- Durable incremental cursors, advanced in the same transaction as the data they cover.
create table if not exists ops.watermarks (
    source text not null,
    entity text not null,
    cursor_value text not null,
    updated_at timestamptz not null default now(),
    primary key (source, entity)
);
-- cursor_value holds what the entity's `incremental.kind` in sources.yaml resumes from:
-- updated_since -> the highest updated_at landed (ISO-8601; requested minus the overlap);
-- page_token -> the token that fetched the last page landed; offset -> that page's offset.

-- Every inbound file read, written in the same transaction as its records: a rerun after a
-- crash between the commit and the move to archive/ or rejected/ only moves the file.
create table if not exists ops.ingested_files (
    source text not null,
    entity text not null,
    file_name text not null,
    sha256 text not null,
    status text not null,
    batch_id uuid not null,
    records integer not null default 0,
    dead_letters integer not null default 0,
    ingested_at timestamptz not null default now(),
    primary key (source, entity, file_name, sha256)
);
