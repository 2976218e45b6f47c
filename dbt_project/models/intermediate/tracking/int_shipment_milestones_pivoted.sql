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

int_carrier_events_normalised as (

    -- Events with no order belong to no shipment.
    select * from {{ ref('int_carrier_events_normalised') }}
    where order_number is not null

),

touched_shipments as (

    -- An incremental run re-pivots the touched shipments from all of their
    -- events; a full build pivots every one.
    {{ shipments_touched_since(lookback_from) }}

),

actual_events as (

    select events.*
    from int_carrier_events_normalised as events
    inner join touched_shipments
        on events.shipment_id = touched_shipments.shipment_id
    where events.event_classifier = 'actual'

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
