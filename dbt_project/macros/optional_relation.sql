{#- Select `columns` (name -> type) from `relation` when it exists, else an
    empty result with the same columns, so that a model reading a table
    another component creates later still builds on a fresh warehouse. -#}
{% macro optional_relation(relation, columns) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database,
            schema=relation.schema,
            identifier=relation.identifier,
        ) -%}
    {%- endif -%}
    select
        {%- for name, type in columns.items() %}
        {% if found is none %}cast(null as {{ type }}){% else %}cast({{ name }} as {{ type }}){% endif %} as {{ name }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    {%- if found is none %}
    where false
    {%- else %}
    from {{ relation }}
    {%- endif %}
{%- endmacro %}
