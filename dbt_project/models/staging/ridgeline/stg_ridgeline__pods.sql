with

source as (

    select * from {{ source('ridgeline', 'pods') }}

),

latest as (

    {{ latest_versions(
        "source", "(payload ->> 'received_at')::timestamptz, raw_id"
    ) }}

),

final as (

    select
        payload ->> 'pro_number' as tracking_number,
        payload ->> 'bol_number' as bol_number,
        payload ->> 'document_type' as document_type,
        payload ->> 'signed_by' as signed_by,
        (payload ->> 'pages')::integer as page_count,
        (payload ->> 'delivered_at')::timestamptz as delivered_at,
        (payload ->> 'received_at')::timestamptz as pod_received_at,
        loaded_at
    from latest

)

select * from final
