{#- Continuous percentile of `expression` (0..1), as an ordered-set
    aggregate. -#}
{% macro percentile(fraction, expression) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}
