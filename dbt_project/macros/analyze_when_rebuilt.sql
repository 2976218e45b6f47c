{#- Post-hook of every model (dbt_project.yml): after a build that wrote the
    table whole, refresh the planner's statistics, so the models built from it
    next (and the lookback queries of later runs) get plans for its real size.
    An incremental run changes a sliver and leaves it to autovacuum; views and
    ephemeral models hold no data to analyze.
-#}
{% macro analyze_when_rebuilt() -%}
    {%- if config.get('materialized') in ('table', 'incremental')
        and not is_incremental() %}analyze {{ this }}{% endif -%}
{%- endmacro %}
