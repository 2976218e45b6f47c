with

source as (

    {{ optional_relation(source('ops', 'billing_outbox'), {
        'invoice_id': 'text',
        'version': 'integer',
        'document_id': 'text',
        'kind': 'text',
        'purpose': 'text',
        'status': 'text',
        'customer_id': 'text',
        'currency': 'text',
        'total_amount': 'numeric(14, 2)',
        'shipment_id': 'text',
        'original_version': 'integer',
        'dispute_id': 'text',
        'cause': 'text',
        'erp_document_number': 'text',
        'approval_required': 'boolean',
        'decided_by': 'text',
        'created_at': 'timestamptz',
        'posted_at': 'timestamptz',
    }) }}

),

final as (

    -- One row per ERP document Waybill queued: cancelled ones (never sent)
    -- are left out, every other state is kept.
    select
        invoice_id,
        version,
        coalesce(document_id, invoice_id) as document_id,
        kind,
        purpose,
        status as document_status,
        customer_id,
        currency,
        total_amount,
        shipment_id,
        original_version,
        dispute_id,
        cause,
        erp_document_number,
        approval_required as is_approval_required,
        decided_by,
        created_at as queued_at,
        posted_at
    from source
    where status <> 'cancelled'

)

select * from final
