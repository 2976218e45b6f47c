with

source as (

    select * from {{ source('ridgeline', 'pods') }}

),

latest as (

    select
        *,
        row_number() over (
            partition by natural_key
            order by (payload ->> 'received_at')::timestamptz, raw_id
        ) as version_rank
    from source

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
    where version_rank = 1

)

select * from final
