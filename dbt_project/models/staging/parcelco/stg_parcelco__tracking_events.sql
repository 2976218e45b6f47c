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

    select * from {{ source('parcelco', 'tracking_events') }}
    {{ landed_since(lookback_from) }}

),

parsed as (

    select
        payload ->> 'trackingNumber' as tracking_number,
        payload ->> 'shipperReference' as order_number,
        payload -> 'activity' -> 'status' ->> 'type' as status_type,
        payload -> 'activity' -> 'status' ->> 'code' as status_code,
        payload -> 'activity' -> 'status' ->> 'description'
            as status_description,
        payload -> 'activity' ->> 'date' as local_date,
        payload -> 'activity' ->> 'time' as local_time,
        payload -> 'activity' ->> 'gmtDate' as gmt_date,
        payload -> 'activity' ->> 'gmtTime' as gmt_time,
        upper(payload -> 'activity' -> 'location' -> 'address' ->> 'city')
            as city,
        upper(
            payload -> 'activity' -> 'location' -> 'address' ->> 'stateProvince'
        ) as state,
        upper(coalesce(
            payload -> 'activity' -> 'location' -> 'address' ->> 'countryCode',
            'US'
        )) as country,
        payload -> 'activity' -> 'location' -> 'address' ->> 'postalCode'
            as postal_code,
        (payload ->> 'publishedAt')::timestamptz as published_at,
        loaded_at,
        raw_id
    from source

),

located as (

    -- ParcelCo sends local time at the activity location without an
    -- offset (GMT fields only after its schema change): resolve the zone
    -- from the city, else the state.
    select
        parsed.*,
        to_timestamp(
            parsed.local_date || parsed.local_time, 'YYYYMMDDHH24MISS'
        )::timestamp as event_local_at,
        coalesce(city_zone.time_zone, state_zone.time_zone) as event_time_zone
    from parsed
    {{ location_time_zone_joins('parsed') }}

),

events as (

    select
        {{ surrogate_key([
            "tracking_number", "status_type", "status_code",
            "local_date", "local_time", "city", "state",
        ]) }} as event_id,
        'parcelco' as carrier_code,
        tracking_number,
        order_number,
        'ups' as source_standard,
        status_type || coalesce(':' || status_code, '') as source_code,
        array_remove(
            array[status_type || ':' || status_code, status_type], null
        ) as source_code_candidates,
        status_description,
        'actual' as event_classifier,
        case when status_type = 'X' then status_code end as reason_code,
        coalesce(
            to_timestamp(gmt_date || gmt_time || '+00', 'YYYYMMDDHH24MISSTZH'),
            {{ local_to_utc('event_local_at', 'event_time_zone') }}
        ) as event_at,
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
