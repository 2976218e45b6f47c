{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['loaded_at']},
            {'columns': ['tracking_number']},
        ],
    )
}}

{%- set lookback_from = lookback_start() %}

with

source as (

    select * from {{ source('carriers', 'carrier_events') }}
    {{ landed_since(lookback_from) }}

),

final as (

    -- The normaliser decided everything (milestone, time zone, identity):
    -- this only names and types its fields. The local wall time is the UTC
    -- instant at the offset that applied there (null when not determinable).
    select
        event_id,
        carrier_code,
        tracking_number,
        package_unique_id,
        shipper_reference as order_number,
        milestone,
        is_exception,
        classifier as event_classifier,
        source_format as source_standard,
        source_channel,
        source_code,
        reason_code,
        reason_description,
        source_description as status_description,
        occurred_at_utc as event_at,
        occurred_at_local as event_local_text,
        (occurred_at_utc at time zone 'UTC')
        + cast(utc_offset as interval) as event_local_at,
        time_zone as event_time_zone,
        time_zone_source,
        upper(city) as city,
        upper(state) as state,
        upper(country) as country,
        postal_code,
        is_retraction,
        retracts_event_id,
        published_at,
        raw_table,
        loaded_at
    from source

)

{{ new_or_changed('final', 'event_id') }}
