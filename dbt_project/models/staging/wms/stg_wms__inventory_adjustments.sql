{#- Optional source: a WMS configured with CSV drops only (no WMS API)
    has none; then this model is empty. -#}
with

source as (

    {{ optional_relation(source('wms', 'inventory_adjustments'), {
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
        'raw_id': 'bigint',
    }) }}

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
