{#- md5 of the fields joined with '|', nulls as ''; the same inputs give the
    same key on every run and every adapter with md5. -#}
{% macro surrogate_key(fields) -%}
    md5(
        {%- for field in fields %}
        coalesce(cast({{ field }} as {{ dbt.type_string() }}), '')
        {%- if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}
