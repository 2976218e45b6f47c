with

source as (

    select * from {{ source('erp', 'contracts') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

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
        coalesce(payload ->> 'amendment_policy', 'credit_and_rebill')
            as amendment_policy,
        (payload ->> 'approval_limit')::numeric(14, 2) as approval_limit,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
