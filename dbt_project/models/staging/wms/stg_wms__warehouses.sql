{#- Optional source: a WMS configured with CSV drops only (no WMS API)
    has none; then this model is empty. -#}
with

source as (

    {{ optional_relation(source('wms', 'warehouses'), {
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
        payload ->> 'warehouse_id' as warehouse_id,
        payload ->> 'name' as warehouse_name,
        upper(payload ->> 'city') as city,
        upper(payload ->> 'state') as state,
        payload ->> 'timezone' as time_zone,
        loaded_at
    from latest

)

select * from final
