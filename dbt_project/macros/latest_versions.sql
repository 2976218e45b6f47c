{#- The newest version of each record of `relation` (a raw source or its CTE):
    one row per `key`, the first in `order_by` (which ends with raw_id, so
    that versions that tie are settled by arrival).
-#}
{% macro latest_versions(relation, order_by, key='natural_key') -%}
    select distinct on ({{ key }}) *
    from {{ relation }}
    order by {{ key }}, {{ order_by }}
{%- endmacro %}
