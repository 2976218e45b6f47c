with

stg_crm__cases as (

    select * from {{ ref('stg_crm__cases') }}

),

stg_crm__contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

fct_shipments as (

    select * from {{ ref('fct_shipments') }}

),

-- The first time the customer asked about the shipment once the exception
-- stood: a contact before the exception was about something else.
first_contacts as (

    select
        cases.case_id,
        min(contacts.contacted_at) as first_contacted_at
    from stg_crm__cases as cases
    inner join stg_crm__contacts as contacts
        on
            cases.order_number = contacts.order_number
            and cases.exception_raised_at <= contacts.contacted_at
    group by cases.case_id

),

final as (

    select
        cases.case_id,
        shipments.shipment_id,
        cases.order_number,
        cases.customer_id,
        cases.exception,
        cases.case_type,
        cases.case_status,
        cases.exception_raised_at,
        cases.opened_at as case_opened_at,
        cases.sla_due_at,
        cases.resolved_at,
        cases.resolution_code,
        cases.resolved_by,
        first_contacts.first_contacted_at,
        cases.resolved_at is not null as is_resolved,
        cases.case_status = 'Exception Cleared' as is_exception_cleared,
        coalesce(
            cases.resolved_at <= cases.sla_due_at, false
        ) as is_resolved_within_sla,
        coalesce(
            cases.opened_at <= first_contacts.first_contacted_at, true
        ) as is_notified_before_contact,
        round(
            (
                extract(epoch from cases.opened_at - cases.exception_raised_at)
                / 3600
            )::numeric,
            2
        )::numeric(12, 2) as time_to_case_hours,
        round(
            (
                extract(epoch from cases.resolved_at - cases.opened_at)
                / 3600
            )::numeric,
            2
        )::numeric(12, 2) as resolution_hours
    from stg_crm__cases as cases
    left join fct_shipments as shipments
        on cases.order_number = shipments.order_number
    left join first_contacts
        on cases.case_id = first_contacts.case_id

)

select * from final
