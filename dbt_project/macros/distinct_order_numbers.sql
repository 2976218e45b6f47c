{#- The distinct order numbers the given models name (each has an
    order_number column): the orders the ERP, WMS and TMS know, a few thousand
    where most shipments are carrier-only. Read through refs, not CTEs of the
    calling model: a CTE read twice is materialised whole. `distinct` rather
    than `union`, so that the planner knows each order is one row.
-#}
{% macro distinct_order_numbers(models) -%}
    select distinct order_number
    from (
        {%- for model in models %}
        select order_number from {{ ref(model) }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as named
{%- endmacro %}
