with

source as (

    select * from {{ source('wms', 'warehouses') }}

),

latest as (

    {{ latest_versions("source", "loaded_at desc, raw_id desc") }}

),

final as (

    select
        payload ->> 'warehouse_id' as warehouse_id,
        payload ->> 'name' as warehouse_name,
        upper(payload ->> 'city') as city,
        upper(payload ->> 'state') as state,
        payload ->> 'timezone' as time_zone,
        loaded_at
    from latest

)

select * from final
