with

source as (

    select * from {{ source('erp', 'contracts') }}

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
        payload ->> 'contract_id' as contract_id,
        payload ->> 'customer_id' as customer_id,
        (payload ->> 'start_date')::date as start_date,
        (payload ->> 'end_date')::date as end_date,
        upper(payload ->> 'currency') as currency,
        payload ->> 'payment_terms' as payment_terms,
        payload -> 'rate_card_ids' as rate_card_ids,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest
    where version_rank = 1

)

select * from final
