with

source as (

    select * from {{ source('erp', 'credit_holds') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

),

final as (

    select
        payload ->> 'credit_hold_id' as credit_hold_id,
        payload ->> 'customer_id' as customer_id,
        payload ->> 'reason' as hold_reason,
        (payload ->> 'placed_at')::timestamptz as placed_at,
        (payload ->> 'released_at')::timestamptz as released_at,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
