with

int_charges_rated as (

    select * from {{ ref('int_charges_rated') }}

),

final as (

    select
        charge_id,
        -- A charge whose TMS shipment is unknown keeps a null shipment.
        case
            when order_number is not null
                then {{ surrogate_key(['order_number']) }}
        end as shipment_id,
        order_number,
        tms_shipment_id,
        customer_id,
        ship_date,
        transport_mode,
        charge_code,
        quantity,
        quantity_unit,
        amount,
        currency,
        cost_amount,
        cost_currency,
        rate_source,
        tms_rate_card_id,
        rate_card_id,
        contract_id,
        contract_amount,
        is_on_rate_card,
        is_at_contract_rate,
        charge_order,
        created_at
    from int_charges_rated

)

select * from final
