with

source as (

    select * from {{ source('wms', 'warehouses') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by natural_key
            order by loaded_at desc, raw_id desc
        ) as version_rank
    from source

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
    where version_rank = 1

)

select * from final
