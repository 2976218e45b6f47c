with

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

fct_shipment_to_invoice as (

    select * from {{ ref('fct_shipment_to_invoice') }}

),

fct_freight_charges as (

    select * from {{ ref('fct_freight_charges') }}

),

fct_freight_audit as (

    select * from {{ ref('fct_freight_audit') }}

),

fct_shipment_milestones as (

    select * from {{ ref('fct_shipment_milestones') }}

),

fct_inventory_sync as (

    select * from {{ ref('fct_inventory_sync') }}

),

shipment_cost as (

    select
        shipment_id,
        sum(cost_amount) as freight_cost
    from fct_freight_charges
    group by shipment_id

),

shipment_variance as (

    select distinct
        shipment_id,
        shipment_invoice_variance
    from fct_freight_audit

),

warehouse_accuracy as (

    -- Inventory accuracy of each warehouse at its latest count.
    select distinct on (location_id)
        location_id,
        100.0 * avg(is_match::integer) over (
            partition by location_id, inventory_date
        ) as inventory_accuracy_pct
    from fct_inventory_sync
    order by location_id asc, inventory_date desc

),

shipments as (

    select
        fct_shipments.*,
        fct_shipment_to_invoice.billing_status,
        fct_shipment_to_invoice.delivery_to_invoice_hours,
        shipment_cost.freight_cost,
        shipment_variance.shipment_invoice_variance,
        -- Publication latency of the shipment's carrier events, looked up by
        -- shipment (indexed) for the shipments reported only, a few thousand,
        -- rather than aggregated over every event first.
        (
            select
                array_agg(milestones.publication_latency_minutes)
                    as latencies
            from fct_shipment_milestones as milestones
            where
                milestones.shipment_id = fct_shipments.shipment_id
                and milestones.source_system = 'carrier'
                and milestones.publication_latency_minutes is not null
        ) as latencies
    from fct_shipments
    left join fct_shipment_to_invoice
        on fct_shipments.shipment_id = fct_shipment_to_invoice.shipment_id
    left join shipment_cost
        on fct_shipments.shipment_id = shipment_cost.shipment_id
    left join shipment_variance
        on fct_shipments.shipment_id = shipment_variance.shipment_id
    where fct_shipments.ship_date is not null

),

latency_by_day as (

    select
        shipments.ship_date,
        shipments.customer_id,
        shipments.carrier_code,
        shipments.lane,
        {{ percentile(0.9, 'latency.minutes') }} as event_latency_p90_minutes
    from shipments
    cross join lateral unnest(shipments.latencies) as latency (minutes)
    group by
        shipments.ship_date,
        shipments.customer_id,
        shipments.carrier_code,
        shipments.lane

),

daily as (

    select
        ship_date as kpi_date,
        customer_id,
        carrier_code,
        lane,
        min(origin_warehouse_id) as origin_warehouse_id,
        count(*) as shipments,
        count(*) filter (where is_delivered) as delivered_shipments,
        count(*) filter (where is_on_time) as on_time_shipments,
        count(*) filter (where is_otif) as otif_shipments,
        count(*) filter (where is_in_full) as in_full_shipments,
        count(*) filter (where billing_status = 'held') as held_shipments,
        count(*) filter (
            where billing_status in ('ready', 'held', 'invoiced')
        ) as billable_candidates,
        {{ percentile(0.5, 'delivery_to_invoice_hours') }}
            as cycle_time_p50_hours,
        {{ percentile(0.9, 'delivery_to_invoice_hours') }}
            as cycle_time_p90_hours,
        sum(freight_cost) as freight_cost,
        sum(weight_kg) as weight_kg,
        sum(shipment_invoice_variance) as carrier_invoice_variance
    from shipments
    group by ship_date, customer_id, carrier_code, lane

),

final as (

    select
        {{ surrogate_key([
            'daily.kpi_date', 'daily.customer_id', 'daily.carrier_code',
            'daily.lane',
        ]) }} as kpi_daily_id,
        daily.kpi_date,
        daily.customer_id,
        daily.carrier_code,
        daily.lane,
        daily.shipments,
        daily.delivered_shipments,
        round(
            100.0 * daily.on_time_shipments
            / nullif(daily.delivered_shipments, 0),
            2
        )::numeric(6, 2) as on_time_delivery_pct,
        round(
            100.0 * daily.otif_shipments / nullif(daily.delivered_shipments, 0),
            2
        )::numeric(6, 2) as otif_pct,
        round(100.0 * daily.in_full_shipments / daily.shipments, 2)::numeric(
            6, 2
        ) as in_full_pct,
        round(daily.cycle_time_p50_hours::numeric, 2)::numeric(12, 2)
            as cycle_time_p50_hours,
        round(daily.cycle_time_p90_hours::numeric, 2)::numeric(12, 2)
            as cycle_time_p90_hours,
        round(
            100.0 * daily.held_shipments
            / nullif(daily.billable_candidates, 0),
            2
        )::numeric(6, 2) as invoice_exception_rate_pct,
        daily.freight_cost::numeric(14, 2) as freight_cost,
        round(daily.freight_cost / daily.shipments, 2)::numeric(14, 2)
            as freight_cost_per_shipment,
        round(daily.freight_cost / nullif(daily.weight_kg, 0), 4)::numeric(
            14, 4
        ) as freight_cost_per_kg,
        daily.carrier_invoice_variance::numeric(14, 2)
            as carrier_invoice_variance,
        round(latency_by_day.event_latency_p90_minutes::numeric, 1)::numeric(
            12, 1
        ) as event_latency_p90_minutes,
        round(warehouse_accuracy.inventory_accuracy_pct, 2)::numeric(6, 2)
            as inventory_accuracy_pct
    from daily
    left join latency_by_day
        on
            daily.kpi_date = latency_by_day.ship_date
            and daily.customer_id
            is not distinct from latency_by_day.customer_id
            and daily.carrier_code
            is not distinct from latency_by_day.carrier_code
            and daily.lane = latency_by_day.lane
    left join warehouse_accuracy
        on daily.origin_warehouse_id = warehouse_accuracy.location_id

)

select * from final
