with

source as (

    {{ optional_relation(source('ops', 'billing_outbox'), {
        'invoice_id': 'text',
        'version': 'integer',
        'status': 'text',
        'erp_document_number': 'text',
        'posted_at': 'timestamptz',
    }) }}

),

final as (

    -- One row per invoice that reached the ERP: its first posting.
    select
        invoice_id,
        min(posted_at) as invoiced_at,
        min(erp_document_number) as erp_document_number,
        max(version) as posted_version
    from source
    where status = 'posted'
    group by invoice_id

)

select * from final
