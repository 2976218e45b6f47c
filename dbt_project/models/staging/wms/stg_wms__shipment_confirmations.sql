{#- Optional source: a WMS may send confirmations only as CSV drops
    (wms_files); then this model is empty. -#}
with

source as (

    {{ optional_relation(source('wms', 'shipment_confirmations'), {
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
        'raw_id': 'bigint',
    }) }}

),

latest as (

    -- The WMS resends some confirmations unchanged with a later sent_at.
    select
        *,
        row_number() over (
            partition by natural_key
            order by (payload ->> 'sent_at')::timestamptz desc, raw_id desc
        ) as version_rank
    from source

),

final as (

    select
        payload ->> 'wms_shipment_id' as wms_shipment_id,
        payload ->> 'warehouse_id' as warehouse_id,
        payload ->> 'order_ref' as order_number,
        payload ->> 'status' as confirmation_status,
        upper(payload ->> 'carrier_scac') as carrier_scac,
        nullif(payload ->> 'tracking_number', '') as tracking_number,
        payload ->> 'bol_number' as bol_number,
        (payload ->> 'package_count')::integer as package_count,
        (payload ->> 'pallet_count')::integer as pallet_count,
        (payload ->> 'weight_kg')::numeric as weight_kg,
        payload -> 'lines' as shipped_lines,
        (payload ->> 'released_at')::timestamptz as released_at,
        (payload ->> 'picked_at')::timestamptz as picked_at,
        (payload ->> 'packed_at')::timestamptz as packed_at,
        (payload ->> 'shipped_at')::timestamptz as shipped_at,
        (payload ->> 'sent_at')::timestamptz as sent_at,
        loaded_at
    from latest
    where version_rank = 1

)

select * from final
