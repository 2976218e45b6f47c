{{
    config(
        materialized='incremental',
        unique_key='milestone_event_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['milestone_event_id'], 'unique': true},
            {'columns': ['shipment_id']},
        ],
    )
}}

{%- set lookback_from = lookback_start() %}

with

int_carrier_events_normalised as (

    {{ landed_or_rekeyed(ref('int_carrier_events_normalised'), lookback_from) }}

),

int_wms_shipment_confirmations_unioned as (

    select * from {{ ref('int_wms_shipment_confirmations_unioned') }}
    {{ landed_since(lookback_from) }}

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

int_proofs_of_delivery_unioned as (

    select * from {{ ref('int_proofs_of_delivery_unioned') }}

),

proofs_of_delivery as (

    -- A POD is a milestone of the TMS shipment that names its tracking
    -- number, whichever of the two landed last.
    select
        stg_tms__shipments.order_number,
        pods.pod_received_at,
        pods.tracking_number,
        greatest(pods.loaded_at, stg_tms__shipments.loaded_at) as loaded_at
    from int_proofs_of_delivery_unioned as pods
    inner join stg_tms__shipments
        on pods.tracking_number = stg_tms__shipments.carrier_reference

),

warehouse_steps as (

    select
        confirmations.order_number,
        'wms' as source_system,
        confirmations.source_channel,
        step.milestone,
        step.event_at,
        confirmations.loaded_at
    from int_wms_shipment_confirmations_unioned as confirmations
    cross join lateral (
        values
        ('order_released', confirmations.released_at),
        ('picked', confirmations.picked_at),
        ('packed', confirmations.packed_at),
        ('shipped', confirmations.shipped_at)
    ) as step (milestone, event_at)

),

lifecycle_events as (

    select
        order_number,
        source_system,
        source_channel,
        milestone,
        event_at,
        cast(null as text) as tracking_number,
        loaded_at
    from warehouse_steps
    union all
    select
        order_number,
        'tms' as source_system,
        'api' as source_channel,
        'tendered' as milestone,
        tendered_at as event_at,
        carrier_reference as tracking_number,
        loaded_at
    from stg_tms__shipments
    {{ landed_since(lookback_from) }}
    union all
    select
        order_number,
        'carrier_pod' as source_system,
        'api' as source_channel,
        'pod_received' as milestone,
        pod_received_at as event_at,
        tracking_number,
        loaded_at
    from proofs_of_delivery
    {{ landed_since(lookback_from) }}

),

final as (

    select
        event_id as milestone_event_id,
        shipment_id,
        order_number,
        milestone,
        is_exception,
        event_classifier,
        event_at,
        event_local_at,
        event_time_zone,
        'carrier' as source_system,
        source_channel,
        source_standard,
        source_code,
        reason_code,
        carrier_code,
        tracking_number,
        published_at,
        publication_latency_minutes,
        loaded_at
    from int_carrier_events_normalised
    -- An event whose instant is not determinable (no offset, no known zone)
    -- stays in int_carrier_events_normalised for review.
    where event_at is not null
    union all
    select
        {{ surrogate_key(['order_number', 'source_system', 'milestone']) }}
            as milestone_event_id,
        {{ surrogate_key(['order_number']) }} as shipment_id,
        order_number,
        milestone,
        false as is_exception,
        'actual' as event_classifier,
        event_at,
        cast(null as timestamp) as event_local_at,
        cast(null as text) as event_time_zone,
        source_system,
        source_channel,
        'waybill' as source_standard,
        milestone as source_code,
        cast(null as text) as reason_code,
        cast(null as text) as carrier_code,
        tracking_number,
        cast(null as timestamptz) as published_at,
        cast(null as numeric) as publication_latency_minutes,
        loaded_at
    from lifecycle_events
    where event_at is not null

)

{{ new_or_changed('final', 'milestone_event_id') }}
