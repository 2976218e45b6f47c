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

    select * from {{ source('ridgeline', 'shipment_status') }}
    {{ landed_since(lookback_from) }}

),

status_events as (

    -- One X12 214 set may carry several AT7 events (LX loops).
    select
        source.payload ->> 'carrier_pro' as tracking_number,
        source.payload ->> 'shipper_reference' as bol_number,
        jsonb_path_query_first(
            source.payload, '$.references[*] ? (@.qualifier == "PO").value'
        ) #>> '{}' as order_number,
        status_event.item ->> 'status_code' as status_code,
        nullif(status_event.item ->> 'status_reason', '') as status_reason,
        status_event.item ->> 'event_date' as local_date,
        coalesce(nullif(status_event.item ->> 'event_time', ''), '0000')
            as local_time,
        nullif(status_event.item ->> 'time_code', '') as time_code,
        upper(status_event.item ->> 'city') as city,
        upper(status_event.item ->> 'state') as state,
        upper(coalesce(status_event.item ->> 'country', 'US')) as country,
        -- ISA09/ISA10: when Ridgeline wrote the file (New York time).
        to_timestamp(
            (source.payload ->> 'interchange_date')
            || (source.payload ->> 'interchange_time'),
            'YYMMDDHH24MI'
        )::timestamp as interchange_local_at,
        source.loaded_at,
        source.raw_id
    from source
    cross join
        lateral jsonb_array_elements(
            source.payload -> 'events'
        ) as status_event (item)

),

located as (

    -- AT7-05/06 are local at the MS1 city; AT7-07 (ET/CT/MT/PT) cannot tell
    -- Denver from Phoenix, so the place decides and the code is a fallback.
    select
        status_events.*,
        to_timestamp(
            status_events.local_date || status_events.local_time,
            'YYYYMMDDHH24MI'
        )::timestamp as event_local_at,
        coalesce(
            city_zone.time_zone,
            state_zone.time_zone,
            case status_events.time_code
                when 'ET' then 'America/New_York'
                when 'CT' then 'America/Chicago'
                when 'MT' then 'America/Denver'
                when 'PT' then 'America/Los_Angeles'
                when 'UT' then 'UTC'
            end
        ) as event_time_zone
    from status_events
    {{ location_time_zone_joins('status_events') }}

),

events as (

    select
        {{ surrogate_key([
            "tracking_number", "status_code", "local_date", "local_time",
            "city", "state",
        ]) }} as event_id,
        'ridgeline' as carrier_code,
        tracking_number,
        order_number,
        bol_number,
        'x12_214' as source_standard,
        status_code as source_code,
        array[status_code] as source_code_candidates,
        case
            -- X12 estimate codes: a forecast of the milestone, not a fact.
            when status_code in ('AG', 'X2', 'B6', 'C1') then 'estimated'
            else 'actual'
        end as event_classifier,
        -- AT7-02 'NS' means normal status: no reason to report.
        case when status_reason <> 'NS' then status_reason end as reason_code,
        {{ local_to_utc('event_local_at', 'event_time_zone') }} as event_at,
        event_local_at,
        event_time_zone,
        city,
        state,
        country,
        {{ local_to_utc("interchange_local_at", "'America/New_York'") }}
            as published_at,
        loaded_at,
        raw_id
    from located

),

-- A repeated set is a duplicate: keep its first publication.
final as (

    {{ first_publications('events', [
        'event_id', 'carrier_code', 'tracking_number', 'order_number',
        'bol_number', 'source_standard', 'source_code',
        'source_code_candidates', 'event_classifier', 'reason_code',
        'event_at', 'event_local_at', 'event_time_zone', 'city', 'state',
        'country'
    ]) }}

)

{{ new_or_changed('final', 'event_id') }}
