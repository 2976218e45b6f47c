{#- Carrier events are insert-only and carriers republish them: keep each
    event's first publication, one row per event_id with `columns` (from the
    CTE `events`, which also has published_at, loaded_at and raw_id), its
    earliest published_at — also against the row already built, in an
    incremental run — and its latest loaded_at (for the lookback).
-#}
{% macro first_publications(events, columns) -%}
    select
        {%- for column in columns %}
        first_publication.{{ column }},
        {%- endfor %}
        {%- if is_incremental() %}
        least(
            first_publication.first_published_at, already_built.published_at
        ) as published_at,
        {%- else %}
        first_publication.first_published_at as published_at,
        {%- endif %}
        first_publication.last_loaded_at as loaded_at
    from (
        select
            *,
            min(published_at) over (partition by event_id)
                as first_published_at,
            max(loaded_at) over (partition by event_id) as last_loaded_at,
            row_number() over (
                partition by event_id order by published_at, raw_id
            ) as publication_rank
        from {{ events }}
    ) as first_publication
    {%- if is_incremental() %}
    left join lateral (
        select published_at
        from {{ this }}
        where {{ this }}.event_id = first_publication.event_id
        limit 1
    ) as already_built on true
    {%- endif %}
    where first_publication.publication_rank = 1
{%- endmacro %}
