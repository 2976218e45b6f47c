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
{%- set carrier_event_models = [
    'stg_parcelco__tracking_events',
    'stg_swiftex__tracking_events',
    'stg_ridgeline__shipment_status',
] %}

with

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),
{%- for carrier_events in carrier_event_models %}

{{ carrier_events }} as (

    {{ landed_or_rekeyed(ref(carrier_events), lookback_from) }}

),
{%- endfor %}

milestone_codes as (

    select * from {{ ref('milestone_codes') }}

),

unioned as (

    {%- for carrier_events in carrier_event_models %}
    select
        event_id,
        carrier_code,
        tracking_number,
        order_number,
        source_standard,
        source_code,
        source_code_candidates,
        event_classifier,
        reason_code,
        event_at,
        event_local_at,
        event_time_zone,
        city,
        state,
        published_at,
        loaded_at
    from {{ carrier_events }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

mapped as (

    -- Candidates go from most to least specific; the first the seed knows
    -- wins; a code with no row is `unmapped`, kept for review.
    select
        unioned.*,
        coalesce(
            most_specific.milestone,
            less_specific.milestone,
            least_specific.milestone,
            'unmapped'
        ) as milestone
    from unioned
    left join milestone_codes as most_specific
        on
            unioned.source_standard = most_specific.source_standard
            and unioned.source_code_candidates[1] = most_specific.source_code
    left join milestone_codes as less_specific
        on
            unioned.source_standard = less_specific.source_standard
            and unioned.source_code_candidates[2] = less_specific.source_code
    left join milestone_codes as least_specific
        on
            unioned.source_standard = least_specific.source_standard
            and unioned.source_code_candidates[3] = least_specific.source_code

),

final as (

    -- The carrier's own reference names the order; the TMS tracking or PRO
    -- number is the fallback when a carrier omits it.
    select
        mapped.event_id,
        {{ surrogate_key([
            "coalesce(mapped.order_number, stg_tms__shipments.order_number)",
        ]) }} as shipment_id,
        coalesce(mapped.order_number, stg_tms__shipments.order_number)
            as order_number,
        mapped.carrier_code,
        mapped.tracking_number,
        mapped.milestone,
        mapped.milestone in (
            'delayed', 'damaged', 'refused', 'returned', 'lost'
        ) as is_exception,
        mapped.event_classifier,
        mapped.source_standard,
        mapped.source_code,
        mapped.reason_code,
        mapped.event_at,
        mapped.event_local_at,
        mapped.event_time_zone,
        mapped.city,
        mapped.state,
        mapped.published_at,
        extract(epoch from mapped.published_at - mapped.event_at)
        / 60.0 as publication_latency_minutes,
        mapped.loaded_at
    from mapped
    left join stg_tms__shipments
        on mapped.tracking_number = stg_tms__shipments.carrier_reference

)

{{ new_or_changed('final', 'event_id') }}
