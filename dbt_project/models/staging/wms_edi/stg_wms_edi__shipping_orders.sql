{#- Optional source: landed only where orders reach a warehouse as X12 940s. -#}
with

source as (

    {{ optional_relation(source('wms_edi', 'shipping_orders'), {
        'raw_id': 'bigint',
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
    }) }}

),

latest as (

    {{ latest_versions('source', 'loaded_at desc, raw_id desc') }}

),

final as (

    select
        natural_key as depositor_order_number,
        payload ->> 'purchase_order' as purchase_order_number,
        payload ->> 'order_status' as order_status_code,
        jsonb_path_query_first(
            payload, '$.parties[*] ? (@.entity == "ST").name'
        ) #>> '{}' as ship_to_name,
        to_date(
            jsonb_path_query_first(
                payload, '$.dates[*] ? (@.qualifier == "10").date'
            ) #>> '{}',
            'YYYYMMDD'
        ) as requested_ship_date,
        upper(payload -> 'carrier' ->> 'scac') as carrier_scac,
        payload -> 'carrier' ->> 'payment_method' as payment_method_code,
        jsonb_array_length(coalesce(payload -> 'lines', '[]'::jsonb))
            as line_count,
        (payload -> 'totals' ->> 'quantity')::numeric as total_quantity,
        payload -> 'lines' as order_lines,
        payload -> 'envelope' ->> 'file' as source_file,
        loaded_at
    from latest

)

select * from final
