{#- Optional source: a WMS configured with the API only drops no CSV files. -#}
with

source as (

    {{ optional_relation(
        source('wms_files', 'shipment_confirmation_lines'), {
            'natural_key': 'text',
            'payload': 'jsonb',
            'loaded_at': 'timestamptz',
            'raw_id': 'bigint',
        }
    ) }}

),

latest as (

    -- A resent confirmation lands its lines again with a later sent_at.
    select
        *,
        row_number() over (
            partition by natural_key
            order by (payload ->> 'sent_at')::timestamptz desc, raw_id desc
        ) as version_rank
    from source

),

final as (

    -- CSV values are text as sent: empty means absent, Y/N are booleans.
    select
        payload ->> 'wms_shipment_id' as wms_shipment_id,
        (payload ->> 'line_number')::integer as line_number,
        payload ->> 'warehouse_id' as warehouse_id,
        payload ->> 'order_ref' as order_number,
        payload ->> 'ordered_item' as ordered_item,
        payload ->> 'shipped_item' as shipped_item,
        (payload ->> 'ordered_qty')::integer as ordered_qty,
        (payload ->> 'shipped_qty')::integer as shipped_qty,
        upper(payload ->> 'substituted') = 'Y' as is_substituted,
        upper(nullif(payload ->> 'carrier_scac', '')) as carrier_scac,
        nullif(payload ->> 'tracking_number', '') as tracking_number,
        nullif(payload ->> 'bol_number', '') as bol_number,
        nullif(payload ->> 'package_count', '')::integer as package_count,
        nullif(payload ->> 'pallet_count', '')::integer as pallet_count,
        nullif(payload ->> 'weight_kg', '')::numeric as weight_kg,
        nullif(payload ->> 'released_at', '')::timestamptz as released_at,
        nullif(payload ->> 'picked_at', '')::timestamptz as picked_at,
        nullif(payload ->> 'packed_at', '')::timestamptz as packed_at,
        nullif(payload ->> 'shipped_at', '')::timestamptz as shipped_at,
        (payload ->> 'sent_at')::timestamptz as sent_at,
        payload ->> '_file' as file_name,
        loaded_at
    from latest
    where version_rank = 1

)

select * from final
