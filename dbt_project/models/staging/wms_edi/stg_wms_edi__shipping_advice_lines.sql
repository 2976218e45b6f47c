{#- Optional source: landed only where a warehouse reports shipments as X12
    945s. -#}
with

source as (

    {{ optional_relation(source('wms_edi', 'shipping_advices'), {
        'raw_id': 'bigint',
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
    }) }}

),

latest as (

    {{ latest_versions('source', 'loaded_at desc, raw_id desc') }}

),

lines as (

    select
        latest.natural_key as depositor_order_number,
        latest.payload,
        latest.loaded_at,
        item.line,
        item.line_position
    from latest
    cross join
        lateral jsonb_array_elements(
            latest.payload -> 'lines'
        ) with ordinality as item (line, line_position)

),

final as (

    select
        {{ surrogate_key(['depositor_order_number', 'line_position']) }}
            as shipping_advice_line_id,
        depositor_order_number,
        line_position::integer as line_position,
        payload ->> 'shipment_id' as shipment_id,
        payload ->> 'purchase_order' as purchase_order_number,
        to_date(payload ->> 'shipment_date', 'YYYYMMDD') as shipped_date,
        upper(payload -> 'carrier' ->> 'scac') as carrier_scac,
        line ->> 'status' as line_status_code,
        line ->> 'product_id_qualifier' as product_id_qualifier,
        line ->> 'product_id' as product_id,
        line ->> 'upc' as upc,
        line ->> 'lot_number' as lot_number,
        (line ->> 'quantity_ordered')::numeric as quantity_ordered,
        (line ->> 'quantity_shipped')::numeric as quantity_shipped,
        (line ->> 'quantity_difference')::numeric as quantity_difference,
        line ->> 'unit' as unit_of_measure,
        payload -> 'envelope' ->> 'file' as source_file,
        loaded_at
    from lines

)

select * from final
