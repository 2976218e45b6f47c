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
{%- set identity_inputs = [
    'stg_erp__orders',
    'int_wms_shipment_confirmations_unioned',
    'stg_tms__shipments',
    'int_carrier_shipment_references',
] %}

with

{% if is_incremental() and lookback_from is not none -%}
-- An incremental run resolves again the orders any system's row of which
-- landed since the lookback (from all of their rows); a full build, all.
touched_orders as (

    {{ orders_landed_since(identity_inputs, lookback_from) }}

),

{% endif -%}

stg_erp__orders as (

    select * from {{ ref('stg_erp__orders') }}

),

int_wms_shipment_confirmations_unioned as (

    select * from {{ ref('int_wms_shipment_confirmations_unioned') }}

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

carrier_references as (

    select * from {{ ref('int_carrier_shipment_references') }}
    where true
    {{- and_touched(
        'shipment_id',
        'select ' ~ surrogate_key(['order_number']) ~ ' from touched_orders',
        lookback_from,
    ) }}

),

carriers as (

    select * from {{ ref('carriers') }}

),

-- Every system names the shipper's order, and an order only one system
-- knows is kept. The carriers' (one row each, most of them known to no
-- other system) are full-joined to these in `joined` rather than unioned
-- in, which would sort or hash them all and put each through every join.
order_numbers as (

    select order_number
    from (
        {{ distinct_order_numbers(identity_inputs[:3]) | indent(8) }}
    ) as known
    where true
    {{- and_touched(
        'order_number', 'select order_number from touched_orders', lookback_from
    ) }}

),

joined as (

    select
        coalesce(
            order_numbers.order_number, carrier_references.order_number
        ) as order_number,
        stg_erp__orders.customer_id,
        stg_erp__orders.order_status,
        int_wms_shipment_confirmations_unioned.wms_shipment_id,
        stg_tms__shipments.tms_shipment_id,
        stg_tms__shipments.load_id,
        coalesce(
            stg_tms__shipments.bol_number,
            int_wms_shipment_confirmations_unioned.bol_number
        ) as bol_number,
        coalesce(
            tms_carrier.carrier_code,
            wms_carrier.carrier_code,
            carrier_references.carrier_code
        ) as carrier_code,
        coalesce(
            stg_tms__shipments.carrier_reference,
            int_wms_shipment_confirmations_unioned.tracking_number,
            carrier_references.tracking_number
        ) as tracking_number,
        stg_erp__orders.order_number is not null as has_erp_order,
        int_wms_shipment_confirmations_unioned.wms_shipment_id is not null
            as has_wms_confirmation,
        stg_tms__shipments.tms_shipment_id is not null as has_tms_shipment,
        -- Each system's details of the shipment, carried for the marts so
        -- that none joins these systems again.
        stg_erp__orders.ship_from_location_id,
        stg_erp__orders.ship_to_city,
        stg_erp__orders.ship_to_state,
        stg_erp__orders.ordered_at,
        stg_erp__orders.requested_delivery_date,
        int_wms_shipment_confirmations_unioned.warehouse_id
            as wms_warehouse_id,
        int_wms_shipment_confirmations_unioned.weight_kg as wms_weight_kg,
        int_wms_shipment_confirmations_unioned.shipped_at,
        stg_tms__shipments.origin_warehouse_id,
        stg_tms__shipments.destination_city,
        stg_tms__shipments.destination_state,
        stg_tms__shipments.transport_mode,
        stg_tms__shipments.ship_date,
        stg_tms__shipments.weight_kg as tms_weight_kg,
        stg_tms__shipments.delivered_at as tms_delivered_at,
        carrier_references.order_number is not null as has_carrier_events,
        coalesce(
            carrier_references.tracking_number_count > 1
            or carrier_references.tracking_number
            <> stg_tms__shipments.carrier_reference,
            false
        ) as has_tracking_conflict,
        greatest(
            stg_erp__orders.loaded_at,
            int_wms_shipment_confirmations_unioned.loaded_at,
            stg_tms__shipments.loaded_at,
            carrier_references.loaded_at
        ) as loaded_at
    from order_numbers
    left join stg_erp__orders
        on order_numbers.order_number = stg_erp__orders.order_number
    left join int_wms_shipment_confirmations_unioned
        on
            order_numbers.order_number
            = int_wms_shipment_confirmations_unioned.order_number
    left join stg_tms__shipments
        on order_numbers.order_number = stg_tms__shipments.order_number
    left join carriers as tms_carrier
        on stg_tms__shipments.carrier_scac = tms_carrier.scac
    left join carriers as wms_carrier
        on
            int_wms_shipment_confirmations_unioned.carrier_scac
            = wms_carrier.scac
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
