{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['shipment_id']},
            {'columns': ['loaded_at']},
            {'columns': ['tracking_number']},
        ],
    )
}}

{%- set lookback_from = lookback_start() %}

with

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

stg_carriers__events as (

    {{ landed_or_rekeyed(ref('stg_carriers__events'), lookback_from) }}

),

final as (

    -- The carrier's own reference names the order; the TMS tracking or PRO
    -- number is the fallback when a carrier omits it. Retractions are kept
    -- in staging, not here: they are not events of the shipment.
    select
        events.event_id,
        {{ surrogate_key([
            "coalesce(events.order_number, stg_tms__shipments.order_number)",
        ]) }} as shipment_id,
        coalesce(events.order_number, stg_tms__shipments.order_number)
            as order_number,
        events.carrier_code,
        events.tracking_number,
        events.milestone,
        events.is_exception,
        events.event_classifier,
        events.source_standard,
        events.source_channel,
        events.source_code,
        events.reason_code,
        events.event_at,
        events.event_local_at,
        events.event_time_zone,
        events.city,
        events.state,
        events.published_at,
        extract(epoch from events.published_at - events.event_at)
        / 60.0 as publication_latency_minutes,
        events.loaded_at
    from stg_carriers__events as events
    left join stg_tms__shipments
        on events.tracking_number = stg_tms__shipments.carrier_reference
    where not events.is_retraction

)

{{ new_or_changed('final', 'event_id') }}
