with

int_shipment_identities_resolved as (

    select * from {{ ref('int_shipment_identities_resolved') }}

),

int_shipment_milestones_pivoted as (

    select * from {{ ref('int_shipment_milestones_pivoted') }}

),

int_shipment_fulfilment_checked as (

    select * from {{ ref('int_shipment_fulfilment_checked') }}

),

stg_erp__orders as (

    select * from {{ ref('stg_erp__orders') }}

),

stg_wms__shipment_confirmations as (

    select * from {{ ref('stg_wms__shipment_confirmations') }}

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

-- The orders the ERP, WMS and TMS know: their details are joined to each
-- other first and meet the shipments in one join, not one per system.
order_numbers as (

    {{ distinct_order_numbers([
        'stg_erp__orders',
        'stg_wms__shipment_confirmations',
        'stg_tms__shipments',
        'int_shipment_fulfilment_checked',
    ]) }}

),

order_details as (

    select
        order_numbers.order_number,
        fulfilment.is_in_full,
        stg_erp__orders.ship_from_location_id,
        stg_erp__orders.ship_to_city,
        stg_erp__orders.ship_to_state,
        stg_erp__orders.ordered_at,
        stg_erp__orders.requested_delivery_date,
        stg_wms__shipment_confirmations.warehouse_id as wms_warehouse_id,
        stg_wms__shipment_confirmations.weight_kg as wms_weight_kg,
        stg_wms__shipment_confirmations.shipped_at,
        stg_tms__shipments.origin_warehouse_id,
        stg_tms__shipments.destination_city,
        stg_tms__shipments.destination_state,
        stg_tms__shipments.transport_mode,
        stg_tms__shipments.ship_date,
        stg_tms__shipments.weight_kg as tms_weight_kg,
        stg_tms__shipments.delivered_at as tms_delivered_at
    from order_numbers
    left join int_shipment_fulfilment_checked as fulfilment
        on order_numbers.order_number = fulfilment.order_number
    left join stg_erp__orders
        on order_numbers.order_number = stg_erp__orders.order_number
    left join stg_wms__shipment_confirmations
        on
            order_numbers.order_number
            = stg_wms__shipment_confirmations.order_number
    left join stg_tms__shipments
        on order_numbers.order_number = stg_tms__shipments.order_number

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
            order_details.origin_warehouse_id,
            order_details.wms_warehouse_id,
            order_details.ship_from_location_id
        ) as origin_warehouse_id,
        coalesce(
            order_details.destination_city, order_details.ship_to_city
        ) as destination_city,
        coalesce(
            order_details.destination_state, order_details.ship_to_state
        ) as destination_state,
        order_details.transport_mode,
        order_details.ship_date,
        coalesce(
            order_details.tms_weight_kg, order_details.wms_weight_kg
        ) as weight_kg,
        order_details.ordered_at,
        order_details.requested_delivery_date,
        -- The promise: end of the requested day in the promise zone.
        (
            (order_details.requested_delivery_date + time '23:59:59')
            at time zone '{{ var("promise_time_zone") }}'
        ) as promised_delivery_at,
        order_details.shipped_at,
        coalesce(
            milestones.delivered_at, order_details.tms_delivered_at
        ) as delivered_at,
        coalesce(milestones.has_delay, false) as has_delay,
        coalesce(milestones.has_damage, false) as has_damage,
        coalesce(milestones.is_lost, false) as is_lost,
        order_details.is_in_full,
        identities.match_status
    from int_shipment_identities_resolved as identities
    left join int_shipment_milestones_pivoted as milestones
        on identities.shipment_id = milestones.shipment_id
    left join order_details
        on identities.order_number = order_details.order_number

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
