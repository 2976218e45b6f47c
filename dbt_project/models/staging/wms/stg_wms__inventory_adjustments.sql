with

source as (

    select * from {{ source('wms', 'inventory_adjustments') }}

),

latest as (

    {{ latest_versions("source", "loaded_at desc, raw_id desc") }}

),

final as (

    select
        payload ->> 'adjustment_id' as adjustment_id,
        payload ->> 'warehouse_id' as warehouse_id,
        payload ->> 'item_code' as sku,
        (payload ->> 'qty_delta')::integer as quantity_delta,
        payload ->> 'reason_code' as reason_code,
        (payload ->> 'adjusted_at')::timestamptz as adjusted_at,
        loaded_at
    from latest

)

select * from final
