with

source as (

    select * from {{ source('tms', 'shipments') }}

),

latest as (

    -- A shipment is re-sent as its status moves on; the most advanced
    -- landing is the latest.
    select
        *,
        row_number() over (
            partition by natural_key
            order by
                case payload ->> 'status'
                    when 'DELIVERED' then 3
                    when 'IN_TRANSIT' then 2
                    else 1
                end desc,
                loaded_at desc,
                raw_id desc
        ) as version_rank
    from source

),

final as (

    select
        payload ->> 'tms_shipment_id' as tms_shipment_id,
        payload ->> 'load_id' as load_id,
        payload ->> 'customer_reference' as order_number,
        payload ->> 'bol_number' as bol_number,
        upper(payload ->> 'carrier_scac') as carrier_scac,
        payload ->> 'mode' as transport_mode,
        nullif(payload ->> 'tracking_number', '') as tracking_number,
        nullif(payload ->> 'pro_number', '') as pro_number,
        coalesce(
            nullif(payload ->> 'tracking_number', ''),
            nullif(payload ->> 'pro_number', '')
        ) as carrier_reference,
        payload ->> 'origin_warehouse' as origin_warehouse_id,
        upper(payload -> 'destination' ->> 'city') as destination_city,
        upper(payload -> 'destination' ->> 'state') as destination_state,
        payload -> 'destination' ->> 'postal_code' as destination_postal_code,
        (payload -> 'destination' ->> 'residential')::boolean
            as is_residential,
        (payload ->> 'weight_kg')::numeric as weight_kg,
        (payload ->> 'pallet_count')::integer as pallet_count,
        (payload ->> 'package_count')::integer as package_count,
        (payload ->> 'ship_date')::date as ship_date,
        {{ local_to_utc(
            "(payload ->> 'tendered_at')::timestamp",
            "'" ~ var('tms_time_zone') ~ "'",
        ) }} as tendered_at,
        payload ->> 'status' as shipment_status,
        {{ local_to_utc(
            "(payload ->> 'delivered_at')::timestamp",
            "'" ~ var('tms_time_zone') ~ "'",
        ) }} as delivered_at,
        loaded_at
    from latest
    where version_rank = 1

)

select * from final
