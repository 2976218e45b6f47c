with

fct_shipment_to_invoice as (

    select * from {{ ref('fct_shipment_to_invoice') }}

),

fct_freight_charges as (

    select * from {{ ref('fct_freight_charges') }}

),

billable_shipments as (

    select * from fct_shipment_to_invoice
    where billing_status in ('ready', 'invoiced')

),

final as (

    -- One invoice per shipment, dated the day its POD arrived (an invoice
    -- never precedes its POD), so a rerun builds the same document.
    select
        billable_shipments.invoice_id,
        row_number() over (
            partition by billable_shipments.invoice_id
            order by
                fct_freight_charges.charge_order,
                fct_freight_charges.charge_code,
                fct_freight_charges.charge_id
        )::integer as invoice_line_number,
        billable_shipments.shipment_id,
        billable_shipments.order_number,
        billable_shipments.tracking_number,
        billable_shipments.customer_id,
        fct_freight_charges.currency,
        (
            greatest(
                billable_shipments.pod_received_at,
                billable_shipments.delivered_at
            ) at time zone '{{ var("kpi_time_zone") }}'
        )::date as invoice_date,
        fct_freight_charges.charge_id,
        fct_freight_charges.charge_code,
        initcap(replace(fct_freight_charges.charge_code, '_', ' '))
        || case fct_freight_charges.charge_code
            when 'LINEHAUL'
                then ' ' || fct_freight_charges.quantity::text || ' kg'
            when 'DETENTION'
                then ' ' || fct_freight_charges.quantity::text || ' h'
            else ''
        end as description,
        fct_freight_charges.contract_id,
        fct_freight_charges.rate_card_id,
        fct_freight_charges.quantity,
        case
            when fct_freight_charges.quantity <> 0
                then round(
                    fct_freight_charges.amount / fct_freight_charges.quantity, 6
                )
        end::numeric(18, 6) as unit_rate,
        fct_freight_charges.amount::numeric(14, 2) as amount
    from billable_shipments
    inner join fct_freight_charges
        on billable_shipments.shipment_id = fct_freight_charges.shipment_id

)

select * from final
