with

source as (

    select * from {{ source('erp', 'customers') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by natural_key
            order by (payload ->> 'updated_at')::timestamptz desc, raw_id desc
        ) as version_rank
    from source

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
    where version_rank = 1

)

select * from final
