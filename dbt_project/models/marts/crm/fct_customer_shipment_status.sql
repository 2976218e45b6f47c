with

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

final as (

    select
        shipment_id,
        order_number,
        customer_id,
        case
            when delivered_at is not null then 'delivered'
            when coalesce(is_lost, false) then 'lost'
            when shipped_at is not null then 'in_transit'
            else 'processing'
        end as customer_visible_status,
        coalesce(delivered_at, shipped_at) as status_since_at
    from fct_shipments
    where order_number is not null

)

select * from final
