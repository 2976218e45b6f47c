with

source as (

    {{ optional_relation(source('crm', 'contacts'), {
        'raw_id': 'bigint',
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
    }) }}

),

latest as (

    {{ latest_versions("source", "raw_id desc") }}

),

final as (

    select
        payload ->> 'contact_id' as contact_id,
        payload ->> 'order_number' as order_number,
        payload ->> 'customer_id' as customer_id,
        payload ->> 'channel' as channel,
        payload ->> 'reason' as contact_reason,
        (payload ->> 'contacted_at')::timestamptz as contacted_at,
        loaded_at
    from latest

)

select * from final
