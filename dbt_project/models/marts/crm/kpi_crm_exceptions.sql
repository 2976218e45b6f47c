with

fct_exception_resolutions as (

    select * from {{ ref('fct_exception_resolutions') }}

),

final as (

    select
        coalesce(exception, 'all') as exception,
        count(*)::integer as cases,
        (count(*) filter (where is_resolved))::integer as resolved_cases,
        round(
            {{ percentile(0.5, 'time_to_case_hours') }}::numeric, 2
        )::numeric(12, 2) as time_to_case_p50_hours,
        round(
            {{ percentile(0.9, 'time_to_case_hours') }}::numeric, 2
        )::numeric(12, 2) as time_to_case_p90_hours,
        round(
            {{ percentile(0.5, 'resolution_hours') }}::numeric, 2
        )::numeric(12, 2) as resolution_p50_hours,
        round(
            {{ percentile(0.9, 'resolution_hours') }}::numeric, 2
        )::numeric(12, 2) as resolution_p90_hours,
        round(
            100.0 * count(*) filter (where is_notified_before_contact)
            / nullif(count(*), 0),
            1
        )::numeric(5, 1) as notified_before_contact_pct
    from fct_exception_resolutions
    group by grouping sets ((exception), ())

)

select * from final
