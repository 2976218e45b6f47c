with

source as (

    select * from {{ source('erp', 'orders') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

),

final as (

    select
        payload ->> 'order_number' as order_number,
        payload ->> 'customer_id' as customer_id,
        payload ->> 'customer_po' as customer_po,
        payload ->> 'status' as order_status,
        upper(payload ->> 'currency') as currency,
        (payload ->> 'ordered_at')::timestamptz as ordered_at,
        (payload ->> 'requested_delivery_date')::date
            as requested_delivery_date,
        payload ->> 'ship_from_location_id' as ship_from_location_id,
        upper(payload -> 'ship_to' ->> 'city') as ship_to_city,
        upper(payload -> 'ship_to' ->> 'state') as ship_to_state,
        payload -> 'ship_to' ->> 'postal_code' as ship_to_postal_code,
        upper(coalesce(payload -> 'ship_to' ->> 'country', 'US'))
            as ship_to_country,
        payload -> 'lines' as order_lines,
        jsonb_array_length(payload -> 'lines') as line_count,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
