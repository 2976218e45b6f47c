with

fct_billing_documents as (

    select * from {{ ref('fct_billing_documents') }}

),

stg_erp__disputes as (

    select * from {{ ref('stg_erp__disputes') }}

),

posted as (

    select
        *,
        (posted_at at time zone '{{ var("kpi_time_zone") }}')::date as kpi_date
    from fct_billing_documents
    where document_status = 'posted'

),

first_invoices as (

    -- Invoice cycle time: from the milestone named by `invoice_cycle_start`
    -- to the moment the ERP accepted the thread's first invoice.
    select distinct on (invoice_id)
        invoice_id,
        kpi_date,
        customer_id,
        currency,
        extract(
            epoch from posted_at - {{ var('invoice_cycle_start') }}_at
        ) / 3600.0 as cycle_hours
    from posted
    where kind = 'invoice'
    order by invoice_id, posted_at

),

disputes as (

    select
        (raised_at at time zone '{{ var("kpi_time_zone") }}')::date as kpi_date,
        customer_id,
        currency,
        count(*) as disputes_raised
    from stg_erp__disputes
    group by kpi_date, customer_id, currency

),

documents as (

    select
        kpi_date,
        customer_id,
        currency,
        count(*) filter (where kind = 'invoice') as invoices_accepted,
        count(*) filter (where kind = 'credit_note') as credit_notes_accepted,
        coalesce(sum(amount) filter (where kind = 'invoice'), 0)
            as amount_invoiced,
        coalesce(sum(amount) filter (where kind = 'credit_note'), 0)
            as amount_credited
    from posted
    group by kpi_date, customer_id, currency

),

cycle as (

    select
        kpi_date,
        customer_id,
        currency,
        count(cycle_hours) as first_invoices,
        percentile_cont(0.5) within group (order by cycle_hours)
            as invoice_cycle_p50_hours,
        percentile_cont(0.9) within group (order by cycle_hours)
            as invoice_cycle_p90_hours
    from first_invoices
    group by kpi_date, customer_id, currency

),

keys as (

    select
        kpi_date,
        customer_id,
        currency
    from documents
    union
    select
        kpi_date,
        customer_id,
        currency
    from disputes

),

final as (

    select
        {{ surrogate_key([
            'keys.kpi_date', 'keys.customer_id', 'keys.currency',
        ]) }} as kpi_billing_daily_id,
        keys.kpi_date,
        keys.customer_id,
        keys.currency,
        coalesce(documents.invoices_accepted, 0)::integer as invoices_accepted,
        coalesce(documents.credit_notes_accepted, 0)::integer
            as credit_notes_accepted,
        coalesce(documents.amount_invoiced, 0)::numeric(14, 2)
            as amount_invoiced,
        coalesce(documents.amount_credited, 0)::numeric(14, 2)
            as amount_credited,
        coalesce(disputes.disputes_raised, 0)::integer as disputes_raised,
        round(
            100.0 * documents.credit_notes_accepted
            / nullif(documents.invoices_accepted, 0),
            2
        )::numeric(7, 2) as credit_note_rate_pct,
        round(
            100.0 * coalesce(disputes.disputes_raised, 0)
            / nullif(documents.invoices_accepted, 0),
            2
        )::numeric(7, 2) as dispute_rate_pct,
        round(cycle.invoice_cycle_p50_hours::numeric, 2)::numeric(10, 2)
            as invoice_cycle_p50_hours,
        round(cycle.invoice_cycle_p90_hours::numeric, 2)::numeric(10, 2)
            as invoice_cycle_p90_hours
    from keys
    left join documents
        on
            keys.kpi_date = documents.kpi_date
            and keys.customer_id = documents.customer_id
            and keys.currency = documents.currency
    left join disputes
        on
            keys.kpi_date = disputes.kpi_date
            and keys.customer_id = disputes.customer_id
            and keys.currency = disputes.currency
    left join cycle
        on
            keys.kpi_date = cycle.kpi_date
            and keys.customer_id = cycle.customer_id
            and keys.currency = cycle.currency

)

select * from final
