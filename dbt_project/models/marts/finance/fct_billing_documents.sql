with

stg_ops__billing_documents as (

    select * from {{ ref('stg_ops__billing_documents') }}

),

stg_erp__disputes as (

    select * from {{ ref('stg_erp__disputes') }}

),

fct_shipment_to_invoice as (

    select * from {{ ref('fct_shipment_to_invoice') }}

),

final as (

    select
        documents.invoice_id || ':v' || documents.version::text
            as billing_document_id,
        documents.invoice_id,
        documents.version,
        documents.document_id,
        documents.kind,
        documents.purpose,
        documents.document_status,
        documents.customer_id,
        documents.currency,
        case
            when documents.kind = 'credit_note' then -documents.total_amount
            else documents.total_amount
        end::numeric(14, 2) as signed_amount,
        documents.total_amount::numeric(14, 2) as amount,
        documents.shipment_id,
        shipments.order_number,
        documents.original_version,
        documents.dispute_id,
        disputes.reason_code as dispute_reason_code,
        documents.cause,
        documents.erp_document_number,
        documents.is_approval_required,
        documents.decided_by,
        documents.queued_at,
        documents.posted_at,
        shipments.pod_received_at,
        shipments.delivered_at
    from stg_ops__billing_documents as documents
    left join fct_shipment_to_invoice as shipments
        on documents.invoice_id = shipments.invoice_id
    left join stg_erp__disputes as disputes
        on documents.dispute_id = disputes.dispute_id

)

select * from final
