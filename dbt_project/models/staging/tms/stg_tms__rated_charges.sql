with

source as (

    select * from {{ source('tms', 'rated_charges') }}

),

-- A re-weigh, a rate correction or a void re-publishes the charge with a
-- higher revision; records without one are revision 1.
latest as (

    {{ latest_versions(
        "source",
        "coalesce((payload ->> 'revision')::integer, 1) desc,"
        ~ " loaded_at desc, raw_id desc"
    ) }}

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
        coalesce(upper(payload ->> 'status'), 'ACTIVE') as charge_status,
        coalesce((payload ->> 'revision')::integer, 1) as revision,
        {{ local_to_utc(
            "(payload ->> 'created_at')::timestamp",
            "'" ~ var('tms_time_zone') ~ "'",
        ) }} as created_at,
        loaded_at
    from latest

)

select * from final
