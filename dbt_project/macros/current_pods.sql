{#- One row per tracking number whose newest landed Track API version shows a
    POD: signed_by, pod_received_at (the first landing of that POD since the
    last version without one: the API gives no receipt time) and loaded_at. A
    carrier that reverses a POD drops it from its answer, so the newest version
    decides; a corrected POD is a new document and lands anew. `has_pod` and
    `signed_by` are SQL expressions over `payload`. -#}
{% macro current_pods(relation, has_pod, signed_by) -%}
    with

    versions as (

        select
            natural_key as tracking_number,
            {{ signed_by }} as signed_by,
            coalesce({{ has_pod }}, false) as has_pod,
            loaded_at,
            raw_id
        from {{ relation }}

    ),

    newest as (

        select distinct on (tracking_number)
            tracking_number,
            has_pod
        from versions
        order by tracking_number, raw_id desc

    ),

    withdrawn as (

        select
            tracking_number,
            max(raw_id) as raw_id
        from versions
        where not has_pod
        group by tracking_number

    )

    select
        versions.tracking_number,
        min(versions.signed_by) as signed_by,
        min(versions.loaded_at) as pod_received_at,
        max(versions.loaded_at) as loaded_at
    from versions
    inner join newest
        on
            versions.tracking_number = newest.tracking_number
            and newest.has_pod
    left join withdrawn
        on versions.tracking_number = withdrawn.tracking_number
    where versions.has_pod and versions.raw_id > coalesce(withdrawn.raw_id, 0)
    group by versions.tracking_number
{%- endmacro %}
