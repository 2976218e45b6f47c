{{
    config(
        materialized='incremental',
        unique_key='shipment_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['shipment_id'], 'unique': true},
        ],
    )
}}

{%- set lookback_from = lookback_start() %}

with

touched_shipment_events as (

    -- An incremental run re-pivots the touched shipments from all of their
    -- events; a full build pivots every one.
    {{ touched_shipment_events(lookback_from) }}

),

actual_events as (

    select * from touched_shipment_events
    where event_classifier = 'actual'

),

final as (

    -- First actual time of each carrier milestone (true event time, not
    -- publication time), and which exceptions the carrier reported.
    select
        shipment_id,
        min(event_at) filter (where milestone = 'tendered')
            as carrier_tendered_at,
        min(event_at) filter (where milestone = 'picked_up') as picked_up_at,
        min(event_at) filter (where milestone = 'in_transit')
            as in_transit_at,
        min(event_at) filter (where milestone = 'out_for_delivery')
            as out_for_delivery_at,
        min(event_at) filter (where milestone = 'delivered') as delivered_at,
        bool_or(milestone = 'delayed') as has_delay,
        bool_or(milestone = 'damaged') as has_damage,
        bool_or(milestone = 'lost') as is_lost,
        bool_or(milestone = 'refused') as is_refused,
        bool_or(milestone = 'returned') as is_returned,
        count(*) as event_count,
        max(event_at) as last_event_at,
        max(loaded_at) as loaded_at
    from actual_events
    group by shipment_id

)

{{ new_or_changed('final', 'shipment_id') }}
