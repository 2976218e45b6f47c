with

source as (

    {{ optional_relation(source('crm', 'cases'), {
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
        payload ->> 'external_id' as case_id,
        payload ->> 'order_number' as order_number,
        payload ->> 'customer_id' as customer_id,
        payload ->> 'exception' as exception,
        payload ->> 'type' as case_type,
        payload ->> 'status' as case_status,
        payload ->> 'priority' as priority,
        payload -> 'evidence' as evidence,
        (payload ->> 'exception_raised_at')::timestamptz as exception_raised_at,
        (payload ->> 'sla_due_at')::timestamptz as sla_due_at,
        (payload ->> 'created_at')::timestamptz as opened_at,
        (payload ->> 'resolved_at')::timestamptz as resolved_at,
        payload ->> 'resolution_code' as resolution_code,
        payload ->> 'resolved_by' as resolved_by,
        (payload ->> 'version')::integer as crm_version,
        (payload ->> 'updated_at')::timestamptz as updated_at,
        loaded_at
    from latest

)

select * from final
