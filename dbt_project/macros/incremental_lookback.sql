{#- In an incremental run, keep rows landed since the latest `column` already
    in the model minus the `event_lookback_hours` var; a full build keeps all.
    The bound is read before the model's query runs and written in as a
    literal, so the planner sees how few rows it selects (a subquery bound
    looks like a third of the table and gets a plan for a third). A model built
    before it had `column` (a table turned incremental) is read in full once.
-#}
{% macro incremental_lookback(column, this_column=none) -%}
    {%- set since = none %}
    {%- set bound_column = this_column or column %}
    {%- if is_incremental() and execute and bound_column in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | list
    ) %}
        {%- set query %}
            select
                max({{ bound_column }})
                - interval '{{ var("event_lookback_hours") }} hours'
            from {{ this }}
        {%- endset %}
        {%- set since = run_query(query).columns[0].values()[0] %}
    {%- endif %}
    {%- if since is none %}
    where true
    {%- else %}
    where {{ column }} >= cast('{{ since }}' as timestamptz)
    {%- endif %}
{%- endmacro %}
