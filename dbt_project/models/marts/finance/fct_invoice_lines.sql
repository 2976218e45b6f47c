with

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

lines as (

    select
        orders.order_number,
        orders.customer_id,
        orders.currency,
        orders.ordered_at,
        (order_line.item ->> 'line_number')::integer as order_line_number,
        order_line.item ->> 'sku' as sku,
        (order_line.item ->> 'quantity')::numeric as quantity,
        (order_line.item ->> 'unit_price')::numeric as unit_price
    from orders
    cross join
        lateral jsonb_array_elements(orders.order_lines) as order_line (item)

),

final as (

    select
        'INV-' || order_number as invoice_id,
        order_line_number as invoice_line_number,
        order_number,
        customer_id,
        currency,
        'GOODS' as charge_code,
        sku || ' x ' || quantity::text as description,
        round(quantity * unit_price, 2)::numeric(14, 2) as amount,
        ordered_at::date as invoice_date
    from lines

)

select * from final
