with

stg_erp__customers as (

    select * from {{ ref('stg_erp__customers') }}

),

stg_erp__credit_holds as (

    select * from {{ ref('stg_erp__credit_holds') }}

),

snp_erp__contracts as (

    select * from {{ ref('snp_erp__contracts') }}
    where dbt_valid_to is null

),

open_holds as (

    select
        customer_id,
        min(placed_at) as credit_hold_placed_at,
        string_agg(distinct hold_reason, ', ') as credit_hold_reason
    from stg_erp__credit_holds
    where released_at is null
    group by customer_id

),

final as (

    select
        stg_erp__customers.customer_id,
        stg_erp__customers.customer_name,
        stg_erp__customers.currency,
        stg_erp__customers.credit_limit,
        stg_erp__customers.payment_terms,
        snp_erp__contracts.contract_id,
        coalesce(snp_erp__contracts.amendment_policy, 'credit_and_rebill')
            as amendment_policy,
        snp_erp__contracts.approval_limit,
        open_holds.customer_id is not null as is_on_credit_hold,
        open_holds.credit_hold_reason,
        open_holds.credit_hold_placed_at,
        stg_erp__customers.created_at
    from stg_erp__customers
    left join open_holds
        on stg_erp__customers.customer_id = open_holds.customer_id
    left join snp_erp__contracts
        on stg_erp__customers.customer_id = snp_erp__contracts.customer_id

)

select * from final
