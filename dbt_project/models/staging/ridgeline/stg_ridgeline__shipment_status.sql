{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        post_hook="{{ analyze_when_rebuilt() }}",
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['loaded_at']},
        ],
    )
}}

with

source as (

    select * from {{ source('ridgeline', 'shipment_status') }}
    {{ incremental_lookback('loaded_at') }}

),

location_time_zones as (

    select * from {{ ref('location_time_zones') }}

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
    left join location_time_zones as city_zone
        on
            status_events.country = city_zone.country
            and status_events.state = city_zone.state
            and status_events.city = city_zone.city
    left join location_time_zones as state_zone
        on
            status_events.country = state_zone.country
            and status_events.state = state_zone.state
            and state_zone.city = '*'

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

first_publication as (

    -- A repeated set is a duplicate: keep its first publication.
    select
        *,
        min(published_at) over (partition by event_id) as first_published_at,
        max(loaded_at) over (partition by event_id) as last_loaded_at,
        row_number() over (
            partition by event_id order by published_at, raw_id
        ) as publication_rank
    from events

),

final as (

    select
        first_publication.event_id,
        first_publication.carrier_code,
        first_publication.tracking_number,
        first_publication.order_number,
        first_publication.bol_number,
        first_publication.source_standard,
        first_publication.source_code,
        first_publication.source_code_candidates,
        first_publication.event_classifier,
        first_publication.reason_code,
        first_publication.event_at,
        first_publication.event_local_at,
        first_publication.event_time_zone,
        first_publication.city,
        first_publication.state,
        first_publication.country,
        {% if is_incremental() -%}
        least(
            first_publication.first_published_at, already_built.published_at
        ) as published_at,
        {%- else -%}
        first_publication.first_published_at as published_at,
        {%- endif %}
        first_publication.last_loaded_at as loaded_at
    from first_publication
    {% if is_incremental() -%}
    left join {{ this }} as already_built
        on first_publication.event_id = already_built.event_id
    {% endif -%}
    where first_publication.publication_rank = 1

)

{{ new_or_changed('final', 'event_id') }}
