with

source as (

    select * from {{ source('erp', 'customers') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

),

final as (

    select
        payload ->> 'customer_id' as customer_id,
        payload ->> 'name' as customer_name,
        upper(payload ->> 'currency') as currency,
        (payload ->> 'credit_limit')::numeric(14, 2) as credit_limit,
        payload ->> 'payment_terms' as payment_terms,
        (payload ->> 'on_credit_hold')::boolean as is_on_credit_hold,
        (payload ->> 'created_at')::timestamptz as created_at,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
