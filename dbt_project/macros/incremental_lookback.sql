{#- In an incremental run, keep rows landed since the latest `column` already
    in the model minus the `event_lookback_hours` var; a full build keeps all.
-#}
{% macro incremental_lookback(column, this_column=none) -%}
    {%- if is_incremental() %}
    where {{ column }} >= (
        select
            coalesce(
                max({{ this_column or column }}),
                cast('1900-01-01' as timestamptz)
            )
            - interval '{{ var("event_lookback_hours") }} hours'
        from {{ this }}
    )
    {%- else %}
    where true
    {%- endif %}
{%- endmacro %}
