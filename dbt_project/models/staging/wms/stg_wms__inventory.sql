{#- Optional source: a WMS configured with CSV drops only (no WMS API)
    has none; then this model is empty. -#}
with

source as (

    {{ optional_relation(source('wms', 'inventory'), {
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
        'raw_id': 'bigint',
    }) }}

),

latest as (

    -- One position per (warehouse, item) and snapshot; a re-landed
    -- snapshot of the same instant keeps its latest copy.
    select
        *,
        row_number() over (
            partition by
                payload ->> 'warehouse_id',
                payload ->> 'item_code',
                (payload ->> 'snapshot_at')::timestamptz
            order by loaded_at desc, raw_id desc
        ) as version_rank
    from source

),

final as (

    select
        {{ surrogate_key([
            "payload ->> 'warehouse_id'",
            "payload ->> 'item_code'",
            "payload ->> 'snapshot_at'",
        ]) }} as inventory_snapshot_id,
        payload ->> 'warehouse_id' as warehouse_id,
        payload ->> 'item_code' as sku,
        (payload ->> 'qty_on_hand')::integer as on_hand_quantity,
        (payload ->> 'snapshot_at')::timestamptz as snapshot_at,
        loaded_at
    from latest
    where version_rank = 1

)

select * from final
