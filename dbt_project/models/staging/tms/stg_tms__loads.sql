with

source as (

    select * from {{ source('tms', 'loads') }}

),

latest as (

    {{ latest_versions("source", "loaded_at desc, raw_id desc") }}

),

final as (

    select
        payload ->> 'load_id' as load_id,
        upper(payload ->> 'carrier_scac') as carrier_scac,
        payload ->> 'mode' as transport_mode,
        payload ->> 'origin_warehouse' as origin_warehouse_id,
        payload -> 'shipment_ids' as tms_shipment_ids,
        (payload ->> 'stop_count')::integer as stop_count,
        payload ->> 'status' as load_status,
        {{ local_to_utc(
            "(payload ->> 'planned_pickup_at')::timestamp",
            "'" ~ var('tms_time_zone') ~ "'",
        ) }} as planned_pickup_at,
        {{ local_to_utc(
            "(payload ->> 'tendered_at')::timestamp",
            "'" ~ var('tms_time_zone') ~ "'",
        ) }} as tendered_at,
        loaded_at
    from latest

)

select * from final
