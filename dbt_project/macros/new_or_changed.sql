{#- Select the rows of the CTE `cte`; in an incremental run only those that are
    new or differ from the row already built with the same `unique_key`, so the
    merge rewrites what changed and not the whole lookback window. Compares the
    columns the built table has (a column just added is filled from now on).
-#}
{% macro new_or_changed(cte, unique_key) -%}
    {%- if is_incremental() %}
        {%- set columns = adapter.get_columns_in_relation(this) %}
    select {{ cte }}.*
    from {{ cte }}
    -- One index probe per row: the slice is small next to the table, which a
    -- hash join would read whole.
    left join lateral (
        select *
        from {{ this }}
        where {{ this }}.{{ unique_key }} = {{ cte }}.{{ unique_key }}
        limit 1
    ) as already_built on true
    where
        already_built.{{ unique_key }} is null
        or (
            {%- for column in columns %}
            {{ cte }}.{{ adapter.quote(column.name) }}{{ "," if not loop.last }}
            {%- endfor %}
        ) is distinct from (
            {%- for column in columns %}
            already_built.{{ adapter.quote(column.name) }}{{ "," if not loop.last }}
            {%- endfor %}
        )
    {%- else %}
    select * from {{ cte }}
    {%- endif %}
{%- endmacro %}
