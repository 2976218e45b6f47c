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

    -- An incremental run recomputes the touched orders from all of their
    -- events; a full build computes every one.
    {{ touched_shipment_events(lookback_from) }}

),

final as (

    select
        events.shipment_id,
        events.order_number,
        min(events.carrier_code) as carrier_code,
        min(events.tracking_number) as tracking_number,
        count(distinct events.tracking_number) as tracking_number_count,
        max(events.loaded_at) as loaded_at
    from touched_shipment_events as events
    group by events.shipment_id, events.order_number

)

{{ new_or_changed('final', 'shipment_id') }}
