with

source as (

    {{ optional_relation(source('ops', 'billing_outbox'), {
        'invoice_id': 'text',
        'version': 'integer',
        'kind': 'text',
        'status': 'text',
        'erp_document_number': 'text',
        'posted_at': 'timestamptz',
    }) }}

),

final as (

    -- One row per invoice thread that reached the ERP: its first posted
    -- invoice (credit notes and later versions are the thread's history).
    select
        invoice_id,
        min(posted_at) as invoiced_at,
        min(erp_document_number) as erp_document_number,
        max(version) as posted_version,
        -- When the thread last reached the ERP: an incremental
        -- fct_shipment_to_invoice rebuilds the threads posted since its
        -- lookback.
        max(posted_at) as last_posted_at
    from source
    where status = 'posted' and kind = 'invoice'
    group by invoice_id

)

select * from final
