{#- The distinct order numbers of the rows of the given models (each with
    order_number and loaded_at) landed since `start` (see lookback_start):
    the orders whose shipment-grain rows an incremental run recomputes. Every
    order the models name when `start` is none (a full build).
-#}
{% macro orders_landed_since(models, start) -%}
    select distinct order_number
    from (
        {%- for model in models %}
        select order_number from {{ ref(model) }}
        {{ landed_since(start) | indent(8) }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as landed
    where order_number is not null
{%- endmacro %}


{#- In an incremental run from `start` (see lookback_start),
    `and <column> = any(<the touched ids>)`, where `touched` is a query of one
    column; nothing in a full build or when `start` is none (every row). An
    array, not a subquery: index probes, not a join over the history.
-#}
{% macro and_touched(column, touched, start) -%}
    {%- if is_incremental() and start is not none %}
    and {{ column }} = any(array({{ touched }}))
    {%- endif %}
{%- endmacro %}
