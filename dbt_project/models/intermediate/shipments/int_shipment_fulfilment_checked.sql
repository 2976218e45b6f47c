with

stg_erp__orders as (

    select * from {{ ref('stg_erp__orders') }}

),

int_wms_shipment_confirmations_unioned as (

    select * from {{ ref('int_wms_shipment_confirmations_unioned') }}

),

ordered_lines as (

    select
        stg_erp__orders.order_number,
        (order_line.item ->> 'line_number')::integer as line_number,
        order_line.item ->> 'sku' as ordered_sku,
        (order_line.item ->> 'quantity')::numeric as ordered_quantity
    from stg_erp__orders
    cross join
        lateral jsonb_array_elements(
            stg_erp__orders.order_lines
        ) as order_line (item)

),

shipped_lines as (

    select
        int_wms_shipment_confirmations_unioned.order_number,
        (shipped_line.item ->> 'line_number')::integer as line_number,
        shipped_line.item ->> 'shipped_item' as shipped_sku,
        (shipped_line.item ->> 'shipped_qty')::numeric as shipped_quantity
    from int_wms_shipment_confirmations_unioned
    cross join
        lateral jsonb_array_elements(
            int_wms_shipment_confirmations_unioned.shipped_lines
        ) as shipped_line (item)

),

lines as (

    -- A line is in full when its ordered SKU shipped at the ordered
    -- quantity (times `in_full_min_fill_ratio`); a substitution is not.
    select
        ordered_lines.order_number,
        ordered_lines.line_number,
        coalesce(
            shipped_lines.shipped_sku = ordered_lines.ordered_sku
            and shipped_lines.shipped_quantity
            >= ordered_lines.ordered_quantity
            * {{ var('in_full_min_fill_ratio') }},
            false
        ) as is_line_in_full,
        coalesce(shipped_lines.shipped_quantity, 0) as shipped_quantity,
        ordered_lines.ordered_quantity
    from ordered_lines
    left join shipped_lines
        on
            ordered_lines.order_number = shipped_lines.order_number
            and ordered_lines.line_number = shipped_lines.line_number

),

shipped_orders as (

    select distinct order_number from shipped_lines

),

final as (

    select
        lines.order_number,
        count(*) as line_count,
        count(*) filter (where lines.is_line_in_full) as lines_in_full,
        sum(lines.ordered_quantity) as ordered_quantity,
        sum(lines.shipped_quantity) as shipped_quantity,
        bool_and(lines.is_line_in_full) as is_in_full
    from lines
    inner join shipped_orders
        on lines.order_number = shipped_orders.order_number
    group by lines.order_number

)

select * from final
