with

stg_ridgeline__freight_invoices as (

    select * from {{ ref('stg_ridgeline__freight_invoices') }}

),

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

fct_freight_charges as (

    select * from {{ ref('fct_freight_charges') }}

),

invoice_codes as (

    -- X12 210 L1-08 codes in Waybill's charge vocabulary.
    select
        invoices.carrier_invoice_number,
        case charge.item ->> 'special_charge_code'
            when '400' then 'LINEHAUL'
            when 'FUE' then 'FUEL'
            when 'RES' then 'RESIDENTIAL'
            when 'LFT' then 'LIFTGATE'
            when 'DET' then 'DETENTION'
            when 'DSC' then 'DISCOUNT'
            else charge.item ->> 'special_charge_code'
        end as charge_code
    from stg_ridgeline__freight_invoices as invoices
    cross join
        lateral jsonb_array_elements(
            invoices.invoice_lines
        ) as invoice_line (item)
    cross join
        lateral jsonb_array_elements(
            invoice_line.item -> 'charges'
        ) as charge (item)

),

invoices as (

    select
        stg_ridgeline__freight_invoices.*,
        coalesce(by_order.shipment_id, by_pro.shipment_id) as shipment_id
    from stg_ridgeline__freight_invoices
    left join fct_shipments as by_order
        on stg_ridgeline__freight_invoices.order_number = by_order.order_number
    left join fct_shipments as by_pro
        on
            stg_ridgeline__freight_invoices.tracking_number
            = by_pro.tracking_number
            and by_pro.carrier_code = 'ridgeline'

),

invoice_rated_cost as (

    select
        invoices.carrier_invoice_number,
        coalesce(sum(fct_freight_charges.cost_amount), 0) as rated_cost
    from invoices
    left join fct_freight_charges
        on
            invoices.shipment_id = fct_freight_charges.shipment_id
            and fct_freight_charges.charge_code in (
                select invoice_codes.charge_code
                from invoice_codes
                where
                    invoice_codes.carrier_invoice_number
                    = invoices.carrier_invoice_number
            )
    group by invoices.carrier_invoice_number

),

shipment_totals as (

    select
        invoices.shipment_id,
        sum(invoices.invoiced_amount) as shipment_invoiced_amount,
        count(*) as shipment_invoice_count
    from invoices
    group by invoices.shipment_id

),

shipment_cost as (

    select
        shipment_id,
        sum(cost_amount) as shipment_rated_cost
    from fct_freight_charges
    group by shipment_id

),

final as (

    select
        invoices.carrier_invoice_number,
        invoices.shipment_id,
        invoices.order_number,
        invoices.tracking_number,
        'ridgeline' as carrier_code,
        invoices.invoice_date,
        invoices.currency,
        invoices.invoiced_amount,
        invoice_rated_cost.rated_cost::numeric(14, 2) as rated_cost,
        (invoices.invoiced_amount - invoice_rated_cost.rated_cost)::numeric(
            14, 2
        ) as variance_amount,
        case
            when invoice_rated_cost.rated_cost <> 0
                then round(
                    100.0
                    * (invoices.invoiced_amount - invoice_rated_cost.rated_cost)
                    / invoice_rated_cost.rated_cost,
                    2
                )
        end::numeric(8, 2) as variance_pct,
        abs(invoices.invoiced_amount - invoice_rated_cost.rated_cost)
        <= {{ var('freight_audit_tolerance_pct') }} / 100.0
        * abs(invoice_rated_cost.rated_cost) as is_within_tolerance,
        shipment_totals.shipment_invoice_count::integer
            as shipment_invoice_count,
        shipment_totals.shipment_invoiced_amount::numeric(14, 2)
            as shipment_invoiced_amount,
        shipment_cost.shipment_rated_cost::numeric(14, 2)
            as shipment_rated_cost,
        (
            shipment_totals.shipment_invoiced_amount
            - coalesce(shipment_cost.shipment_rated_cost, 0)
        )::numeric(14, 2) as shipment_invoice_variance
    from invoices
    inner join invoice_rated_cost
        on
            invoices.carrier_invoice_number
            = invoice_rated_cost.carrier_invoice_number
    left join shipment_totals
        on invoices.shipment_id = shipment_totals.shipment_id
    left join shipment_cost
        on invoices.shipment_id = shipment_cost.shipment_id

)

select * from final
