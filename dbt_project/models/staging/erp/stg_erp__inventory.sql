with

source as (

    select * from {{ source('erp', 'inventory') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

),

final as (

    select
        payload ->> 'inventory_id' as inventory_id,
        payload ->> 'location_id' as location_id,
        payload ->> 'sku' as sku,
        (payload ->> 'on_hand')::integer as on_hand_quantity,
        (payload ->> 'as_of')::timestamptz as as_of_at,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
