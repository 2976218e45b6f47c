with

fct_invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

fct_shipment_to_invoice as (

    select * from {{ ref('fct_shipment_to_invoice') }}

),

totals as (

    select
        invoice_id,
        min(shipment_id) as shipment_id,
        min(customer_id) as customer_id,
        min(currency) as currency,
        min(invoice_date) as invoice_date,
        count(*)::integer as line_count,
        sum(amount)::numeric(14, 2) as total_amount
    from fct_invoice_lines
    group by invoice_id

),

final as (

    select
        totals.invoice_id,
        totals.shipment_id,
        fct_shipment_to_invoice.order_number,
        totals.customer_id,
        totals.currency,
        totals.invoice_date,
        totals.line_count,
        totals.total_amount,
        fct_shipment_to_invoice.delivered_at,
        fct_shipment_to_invoice.pod_received_at,
        fct_shipment_to_invoice.billing_status,
        fct_shipment_to_invoice.invoiced_at
    from totals
    inner join fct_shipment_to_invoice
        on totals.shipment_id = fct_shipment_to_invoice.shipment_id

)

select * from final
