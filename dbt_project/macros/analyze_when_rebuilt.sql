{#- Post-hook of the large incremental models: after a build that wrote the
    table whole, refresh the planner's statistics, so the lookback queries of
    the next runs (and the models built from it now) get plans for the real
    sizes. Incremental runs change a sliver and leave it to autovacuum.
-#}
{% macro analyze_when_rebuilt() -%}
    {%- if not is_incremental() %}analyze {{ this }}{% endif -%}
{%- endmacro %}
