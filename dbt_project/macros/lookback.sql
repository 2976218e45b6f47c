{#- Where an incremental run starts reading: the newest `loaded_at` the model
    holds minus the `event_lookback_hours` var; none in a full build, or when
    the built table predates its `loaded_at` (a table turned incremental, read
    in full once). A model reads it once
    (`set lookback_from = lookback_start()`) and filters each input with
    `landed_since(lookback_from)`.
-#}
{% macro lookback_start() -%}
    {%- if is_incremental() and execute and 'loaded_at' in (
        adapter.get_columns_in_relation(this) | map(attribute='name') | list
    ) %}
        {%- set query %}
            select
                max(loaded_at)
                - interval '{{ var("event_lookback_hours") }} hours'
            from {{ this }}
        {%- endset %}
        {{- return(run_query(query).columns[0].values()[0]) }}
    {%- endif %}
    {{- return(none) }}
{%- endmacro %}


{#- Keep the rows landed since `start` (see lookback_start); all rows when it
    is none. The bound is written in as a literal, so the planner sees how few
    rows it selects (a subquery bound looks like a third of the table and
    gets a plan for a third).
-#}
{% macro landed_since(start) -%}
    {%- if start is none %}
    where true
    {%- else %}
    where loaded_at >= cast('{{ start }}' as timestamptz)
    {%- endif %}
{%- endmacro %}


{#- The complement of landed_since(start): the rows landed before `start`, as
    a where clause to extend with `and …`; no rows when start is none.
-#}
{% macro landed_before(start) -%}
    {%- if start is none %}
    where false
    {%- else %}
    where loaded_at < cast('{{ start }}' as timestamptz)
    {%- endif %}
{%- endmacro %}
