with

source as (

    select * from {{ source('tms', 'rated_charges') }}

),

latest as (

    {{ latest_versions("source", "loaded_at desc, raw_id desc") }}

),

final as (

    select
        payload ->> 'charge_id' as charge_id,
        payload ->> 'tms_shipment_id' as tms_shipment_id,
        upper(payload ->> 'charge_code') as charge_code,
        (payload ->> 'quantity')::numeric as quantity,
        payload ->> 'unit' as quantity_unit,
        (payload ->> 'amount')::numeric(14, 2) as amount,
        upper(payload ->> 'currency') as currency,
        (payload ->> 'cost_amount')::numeric(14, 2) as cost_amount,
        upper(payload ->> 'cost_currency') as cost_currency,
        payload ->> 'rate_card_id' as rate_card_id,
        payload ->> 'rate_source' as rate_source,
        {{ local_to_utc(
            "(payload ->> 'created_at')::timestamp",
            "'" ~ var('tms_time_zone') ~ "'",
        ) }} as created_at,
        loaded_at
    from latest

)

select * from final
