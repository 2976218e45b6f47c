with

source as (

    select * from {{ source('ridgeline', 'freight_invoices') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by payload ->> 'invoice_number'
            order by loaded_at desc, raw_id desc
        ) as version_rank
    from source

),

final as (

    select
        payload ->> 'invoice_number' as carrier_invoice_number,
        payload ->> 'shipment_id' as tracking_number,
        jsonb_path_query_first(
            payload, '$.references[*] ? (@.qualifier == "PO").value'
        ) #>> '{}' as order_number,
        jsonb_path_query_first(
            payload, '$.references[*] ? (@.qualifier == "BM").value'
        ) #>> '{}' as bol_number,
        upper(payload ->> 'scac') as carrier_scac,
        upper(coalesce(payload ->> 'currency', 'USD')) as currency,
        to_date(payload ->> 'invoice_date', 'YYYYMMDD') as invoice_date,
        to_date(payload ->> 'delivery_date', 'YYYYMMDD') as delivery_date,
        (payload ->> 'net_amount')::numeric(14, 2) as invoiced_amount,
        payload ->> 'correction_indicator' as correction_indicator,
        jsonb_array_length(coalesce(payload -> 'lines', '[]'::jsonb))
            as line_count,
        payload -> 'lines' as invoice_lines,
        payload -> 'envelope' ->> 'file' as source_file,
        loaded_at
    from latest
    where version_rank = 1

)

select * from final
