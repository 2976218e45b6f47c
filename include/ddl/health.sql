-- Pipeline health: one row per dbt source table, replaced by each pipeline_health run
-- (waybill.health). Read it as a data engineer: `select * from ops.source_health order by 1, 2`.
create table if not exists ops.source_health (
    source_name text not null,              -- the dbt source (erp, wms, carriers, ...)
    table_name text not null,               -- the dbt source table (orders, ...)
    relation text not null,                 -- raw.erp__orders
    ingest_dag_id text,                     -- the DAG that loads it (the source's `loader`)
    freshness_status text not null,         -- pass | warn | error | runtime error | exempt
    freshness_exempt_reason text,           -- why no freshness applies (the yml's meta)
    freshness_measure text,                 -- loaded_at column, or last successful load
    last_loaded_at timestamptz,             -- what freshness measured (null: never)
    hours_since_loaded numeric,
    warn_after_hours numeric,
    error_after_hours numeric,
    last_successful_run_id text,            -- newest run of ingest_dag_id that loaded it and succeeded
    last_successful_run_at timestamptz,
    records_read_24h bigint not null default 0,     -- ops.load_batches, last 24 h
    dead_letters_24h bigint not null default 0,
    dead_letter_rate numeric,               -- dead_letters_24h / records_read_24h
    dead_letters_total bigint not null default 0,   -- ops.dead_letters, all time
    oldest_dead_letter_at timestamptz,
    dead_letter_lag_hours numeric,          -- age of the oldest dead letter (nothing replays them)
    message text,                           -- dbt's error, when freshness could not be measured
    checked_at timestamptz not null,
    primary key (source_name, table_name)
);
