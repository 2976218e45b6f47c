{#- Optional source: landed only where a warehouse sends X12 856 ASNs. -#}
with

source as (

    {{ optional_relation(source('wms_edi', 'ship_notices'), {
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
        latest.natural_key as shipment_id,
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
        {{ surrogate_key(['shipment_id', 'line_position']) }}
            as ship_notice_line_id,
        shipment_id,
        line_position::integer as line_position,
        line ->> 'hl' as hierarchical_id,
        line ->> 'line_number' as line_number,
        line ->> 'purchase_order' as purchase_order_number,
        line -> 'product_ids' -> 0 ->> 'qualifier' as product_id_qualifier,
        line -> 'product_ids' -> 0 ->> 'id' as product_id,
        line -> 'product_ids' as product_ids,
        (line ->> 'quantity_shipped')::numeric as quantity_shipped,
        line ->> 'unit' as unit_of_measure,
        line -> 'marks' -> 0 ->> 'number' as package_mark,
        upper(payload -> 'carrier' ->> 'scac') as carrier_scac,
        jsonb_path_query_first(
            payload, '$.references[*] ? (@.qualifier == "BM").value'
        ) #>> '{}' as bol_number,
        to_date(payload ->> 'shipment_date', 'YYYYMMDD') as notice_date,
        to_date(
            jsonb_path_query_first(
                payload, '$.dates[*] ? (@.qualifier == "011").date'
            ) #>> '{}',
            'YYYYMMDD'
        ) as shipped_date,
        payload -> 'envelope' ->> 'file' as source_file,
        loaded_at
    from lines

)

select * from final
