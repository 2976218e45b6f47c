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

    select * from {{ source('swiftex', 'tracking_events') }}
    {{ landed_since(lookback_from) }}

),

parsed as (

    select
        payload ->> 'trackingNumber' as tracking_number,
        payload ->> 'shipperReference' as order_number,
        payload -> 'scanEvent' ->> 'eventType' as event_type,
        payload -> 'scanEvent' ->> 'derivedStatusCode' as derived_status_code,
        nullif(payload -> 'scanEvent' ->> 'exceptionCode', '')
            as exception_code,
        payload -> 'scanEvent' ->> 'eventDescription' as status_description,
        payload -> 'scanEvent' ->> 'date' as event_time_text,
        upper(payload -> 'scanEvent' -> 'scanLocation' ->> 'city') as city,
        upper(
            payload -> 'scanEvent' -> 'scanLocation' ->> 'stateOrProvinceCode'
        ) as state,
        upper(coalesce(
            payload -> 'scanEvent' -> 'scanLocation' ->> 'countryCode', 'US'
        )) as country,
        payload -> 'scanEvent' -> 'scanLocation' ->> 'postalCode'
            as postal_code,
        (payload ->> 'publishedAt')::timestamptz as published_at,
        loaded_at,
        raw_id
    from source

),

located as (

    -- SwiftEx sends ISO-8601 with the scan location's offset: the instant
    -- is exact; the zone name still comes from the location.
    select
        parsed.*,
        parsed.event_time_text::timestamptz as event_at,
        left(parsed.event_time_text, 19)::timestamp as event_local_at,
        coalesce(city_zone.time_zone, state_zone.time_zone) as event_time_zone
    from parsed
    {{ location_time_zone_joins('parsed') }}

),

events as (

    select
        {{ surrogate_key([
            "tracking_number", "event_type", "derived_status_code",
            "event_time_text", "city", "state",
        ]) }} as event_id,
        'swiftex' as carrier_code,
        tracking_number,
        order_number,
        'fedex' as source_standard,
        event_type as source_code,
        array_remove(
            array[
                event_type || ':' || exception_code,
                event_type,
                derived_status_code
            ],
            null
        ) as source_code_candidates,
        status_description,
        'actual' as event_classifier,
        exception_code as reason_code,
        event_at,
        event_local_at,
        event_time_zone,
        city,
        state,
        country,
        postal_code,
        published_at,
        loaded_at,
        raw_id
    from located

),

-- The same event republished later is a duplicate: keep its first
-- publication (and the latest landing, for the lookback).
final as (

    {{ first_publications('events', [
        'event_id', 'carrier_code', 'tracking_number', 'order_number',
        'source_standard', 'source_code', 'source_code_candidates',
        'status_description', 'event_classifier', 'reason_code', 'event_at',
        'event_local_at', 'event_time_zone', 'city', 'state', 'country',
        'postal_code'
    ]) }}

)

{{ new_or_changed('final', 'event_id') }}
