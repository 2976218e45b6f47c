with

stg_wms__shipment_confirmations as (

    select * from {{ ref('stg_wms__shipment_confirmations') }}

),

stg_wms_files__shipment_confirmation_lines as (

    select * from {{ ref('stg_wms_files__shipment_confirmation_lines') }}

),

csv_latest_lines as (

    -- The lines of the latest confirmation a CSV drop sent for a shipment.
    select
        *,
        max(sent_at) over (partition by wms_shipment_id) as latest_sent_at,
        max(loaded_at) over (partition by wms_shipment_id) as last_loaded_at
    from stg_wms_files__shipment_confirmation_lines

),

csv_confirmations as (

    -- The CSV repeats the shipment's columns on every line; its lines
    -- become the API's `lines` array, so both channels read alike.
    select
        wms_shipment_id,
        min(warehouse_id) as warehouse_id,
        min(order_number) as order_number,
        cast(null as text) as confirmation_status,
        min(carrier_scac) as carrier_scac,
        min(tracking_number) as tracking_number,
        min(bol_number) as bol_number,
        min(package_count) as package_count,
        min(pallet_count) as pallet_count,
        min(weight_kg) as weight_kg,
        jsonb_agg(
            jsonb_build_object(
                'line_number', line_number,
                'ordered_item', ordered_item,
                'shipped_item', shipped_item,
                'ordered_qty', ordered_qty,
                'shipped_qty', shipped_qty,
                'substituted', is_substituted
            )
            order by line_number
        ) as shipped_lines,
        min(released_at) as released_at,
        min(picked_at) as picked_at,
        min(packed_at) as packed_at,
        min(shipped_at) as shipped_at,
        max(sent_at) as sent_at,
        max(last_loaded_at) as loaded_at,
        'csv' as source_channel,
        2 as channel_rank
    from csv_latest_lines
    where sent_at = latest_sent_at
    group by wms_shipment_id

),

unioned as (

    select
        wms_shipment_id,
        warehouse_id,
        order_number,
        confirmation_status,
        carrier_scac,
        tracking_number,
        bol_number,
        package_count,
        pallet_count,
        weight_kg,
        shipped_lines,
        released_at,
        picked_at,
        packed_at,
        shipped_at,
        sent_at,
        loaded_at,
        'api' as source_channel,
        1 as channel_rank
    from stg_wms__shipment_confirmations
    union all
    select * from csv_confirmations

),

ranked as (

    -- The latest confirmation sent wins; on a tie the API's (a CSV row the
    -- loader dead-lettered would be a missing line). loaded_at is the last
    -- landing of either, so incremental models downstream see a change.
    select
        *,
        row_number() over (
            partition by wms_shipment_id
            order by sent_at desc, channel_rank asc
        ) as channel_choice,
        max(loaded_at) over (partition by wms_shipment_id) as last_loaded_at
    from unioned

),

final as (

    select
        wms_shipment_id,
        warehouse_id,
        order_number,
        confirmation_status,
        carrier_scac,
        tracking_number,
        bol_number,
        package_count,
        pallet_count,
        weight_kg,
        shipped_lines,
        released_at,
        picked_at,
        packed_at,
        shipped_at,
        sent_at,
        source_channel,
        last_loaded_at as loaded_at
    from ranked
    where channel_choice = 1

)

select * from final
