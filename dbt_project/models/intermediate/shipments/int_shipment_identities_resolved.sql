{{ config(materialized='table', indexes=[{'columns': ['shipment_id']}]) }}

with

stg_erp__orders as (

    select * from {{ ref('stg_erp__orders') }}

),

stg_wms__shipment_confirmations as (

    select * from {{ ref('stg_wms__shipment_confirmations') }}

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

carrier_references as (

    select * from {{ ref('int_carrier_shipment_references') }}

),

carriers as (

    select * from {{ ref('carriers') }}

),

-- Every system names the shipper's order, and an order only one system
-- knows is kept. The carriers' (one row each, most of them known to no
-- other system) are full-joined to these in `joined` rather than unioned
-- in, which would sort or hash them all and put each through every join.
order_numbers as (

    {{ distinct_order_numbers([
        'stg_erp__orders',
        'stg_wms__shipment_confirmations',
        'stg_tms__shipments',
    ]) }}

),

joined as (

    select
        coalesce(
            order_numbers.order_number, carrier_references.order_number
        ) as order_number,
        stg_erp__orders.customer_id,
        stg_erp__orders.order_status,
        stg_wms__shipment_confirmations.wms_shipment_id,
        stg_tms__shipments.tms_shipment_id,
        stg_tms__shipments.load_id,
        coalesce(
            stg_tms__shipments.bol_number,
            stg_wms__shipment_confirmations.bol_number
        ) as bol_number,
        coalesce(
            tms_carrier.carrier_code,
            wms_carrier.carrier_code,
            carrier_references.carrier_code
        ) as carrier_code,
        coalesce(
            stg_tms__shipments.carrier_reference,
            stg_wms__shipment_confirmations.tracking_number,
            carrier_references.tracking_number
        ) as tracking_number,
        stg_erp__orders.order_number is not null as has_erp_order,
        stg_wms__shipment_confirmations.wms_shipment_id is not null
            as has_wms_confirmation,
        stg_tms__shipments.tms_shipment_id is not null as has_tms_shipment,
        carrier_references.order_number is not null as has_carrier_events,
        coalesce(
            carrier_references.tracking_number_count > 1
            or carrier_references.tracking_number
            <> stg_tms__shipments.carrier_reference,
            false
        ) as has_tracking_conflict
    from order_numbers
    left join stg_erp__orders
        on order_numbers.order_number = stg_erp__orders.order_number
    left join stg_wms__shipment_confirmations
        on
            order_numbers.order_number
            = stg_wms__shipment_confirmations.order_number
    left join stg_tms__shipments
        on order_numbers.order_number = stg_tms__shipments.order_number
    left join carriers as tms_carrier
        on stg_tms__shipments.carrier_scac = tms_carrier.scac
    left join carriers as wms_carrier
        on stg_wms__shipment_confirmations.carrier_scac = wms_carrier.scac
    full outer join carrier_references
        on order_numbers.order_number = carrier_references.order_number

),

final as (

    select
        {{ surrogate_key(['order_number']) }} as shipment_id,
        *,
        case
            when not has_erp_order then 'missing_erp_order'
            when
                not has_wms_confirmation and order_status = 'RELEASED'
                and not has_tms_shipment
                then 'awaiting_shipment'
            when not has_wms_confirmation then 'missing_wms_confirmation'
            when not has_tms_shipment then 'missing_tms_shipment'
            when has_tracking_conflict then 'tracking_number_conflict'
            else 'matched'
        end as match_status
    from joined

)

select * from final
