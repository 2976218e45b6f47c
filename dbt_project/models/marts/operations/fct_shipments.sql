{{
    config(
        materialized='incremental',
        unique_key='shipment_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['shipment_id']},
            {'columns': ['loaded_at']},
        ],
    )
}}

{%- set lookback_from = lookback_start() %}

with

{% if is_incremental() and lookback_from is not none -%}
-- An incremental run rebuilds the shipments whose identity or carrier
-- milestones were recomputed since the lookback (each carries the landing
-- time of its newest input as loaded_at); a full build, all.
touched_shipments as (

    select shipment_id
    from {{ ref('int_shipment_identities_resolved') }}
    {{ landed_since(lookback_from) }}
    union
    select shipment_id
    from {{ ref('int_shipment_milestones_pivoted') }}
    {{ landed_since(lookback_from) }}

),

{% endif -%}
int_shipment_identities_resolved as (

    select * from {{ ref('int_shipment_identities_resolved') }}
    where true
    {{- and_touched(
        'shipment_id', 'select shipment_id from touched_shipments', lookback_from
    ) }}

),

int_shipment_milestones_pivoted as (

    select * from {{ ref('int_shipment_milestones_pivoted') }}

),

int_shipment_fulfilment_checked as (

    select * from {{ ref('int_shipment_fulfilment_checked') }}

),

joined as (

    select
        identities.shipment_id,
        identities.order_number,
        identities.wms_shipment_id,
        identities.tms_shipment_id,
        identities.load_id,
        identities.bol_number,
        identities.tracking_number,
        identities.carrier_code,
        identities.customer_id,
        coalesce(
            identities.origin_warehouse_id,
            identities.wms_warehouse_id,
            identities.ship_from_location_id
        ) as origin_warehouse_id,
        coalesce(
            identities.destination_city, identities.ship_to_city
        ) as destination_city,
        coalesce(
            identities.destination_state, identities.ship_to_state
        ) as destination_state,
        identities.transport_mode,
        identities.ship_date,
        coalesce(
            identities.tms_weight_kg, identities.wms_weight_kg
        ) as weight_kg,
        identities.ordered_at,
        identities.requested_delivery_date,
        -- The promise: end of the requested day in the promise zone.
        (
            (identities.requested_delivery_date + time '23:59:59')
            at time zone '{{ var("promise_time_zone") }}'
        ) as promised_delivery_at,
        identities.shipped_at,
        coalesce(
            milestones.delivered_at, identities.tms_delivered_at
        ) as delivered_at,
        coalesce(milestones.has_delay, false) as has_delay,
        coalesce(milestones.has_damage, false) as has_damage,
        coalesce(milestones.is_lost, false) as is_lost,
        fulfilment.is_in_full,
        identities.match_status,
        greatest(identities.loaded_at, milestones.loaded_at) as loaded_at
    from int_shipment_identities_resolved as identities
    left join int_shipment_milestones_pivoted as milestones
        on identities.shipment_id = milestones.shipment_id
    left join int_shipment_fulfilment_checked as fulfilment
        on identities.order_number = fulfilment.order_number

),

final as (

    select
        *,
        coalesce(origin_warehouse_id, '?') || '-'
        || coalesce(destination_state, '?') as lane,
        delivered_at is not null as is_delivered,
        case
            when delivered_at is null or promised_delivery_at is null then null
            else
                delivered_at
                <= promised_delivery_at
                + interval '{{ var("on_time_grace_minutes") }} minutes'
        end as is_on_time,
        case
            when delivered_at is null or promised_delivery_at is null then null
            else
                delivered_at
                <= promised_delivery_at
                + interval '{{ var("on_time_grace_minutes") }} minutes'
                and coalesce(is_in_full, false)
        end as is_otif
    from joined

)

select * from final
