with

source as (

    select * from {{ source('ridgeline', 'pods') }}

),

-- The newest state of each POD: a reversal (status REVERSED) or a
-- corrected POD re-publishes the record with a later updated_at.
latest as (

    {{ latest_versions(
        "source",
        "coalesce((payload ->> 'updated_at')::timestamptz,"
        ~ " (payload ->> 'received_at')::timestamptz) desc, raw_id desc"
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
        coalesce(upper(payload ->> 'status'), 'RECEIVED') as pod_status,
        loaded_at
    from latest

)

select * from final
