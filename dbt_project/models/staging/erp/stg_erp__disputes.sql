with

source as (

    {{ optional_relation(source('erp', 'disputes'), {
        'raw_id': 'bigint',
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
    }) }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'updated_at')::timestamptz desc, raw_id desc"
    ) }}

),

final as (

    select
        payload ->> 'dispute_id' as dispute_id,
        payload ->> 'document_number' as document_number,
        payload ->> 'external_id' as external_id,
        payload ->> 'customer_id' as customer_id,
        payload -> 'shipment_ids' as shipment_ids,
        payload ->> 'reason_code' as reason_code,
        (payload ->> 'disputed_amount')::numeric(14, 2) as disputed_amount,
        upper(payload ->> 'currency') as currency,
        lower(payload ->> 'status') as dispute_status,
        (payload ->> 'raised_at')::timestamptz as raised_at,
        (payload ->> 'resolved_at')::timestamptz as resolved_at,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
