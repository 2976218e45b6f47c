with

source as (

    select * from {{ source('erp', 'rate_cards') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

),

final as (

    select
        payload ->> 'rate_card_id' as rate_card_id,
        payload ->> 'contract_id' as contract_id,
        payload ->> 'customer_id' as customer_id,
        (payload ->> 'version')::integer as rate_card_version,
        (payload ->> 'effective_from')::date as effective_from,
        (payload ->> 'effective_to')::date as effective_to,
        upper(payload ->> 'currency') as currency,
        (payload -> 'rates' -> 'parcel' ->> 'base')::numeric as parcel_base,
        (payload -> 'rates' -> 'parcel' ->> 'per_kg')::numeric
            as parcel_per_kg,
        (payload -> 'rates' -> 'ltl' ->> 'base')::numeric as ltl_base,
        (payload -> 'rates' -> 'ltl' ->> 'per_kg')::numeric as ltl_per_kg,
        (payload -> 'rates' ->> 'fuel_surcharge_pct')::numeric
            as fuel_surcharge_pct,
        payload -> 'rates' -> 'accessorials' as accessorial_rates,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
