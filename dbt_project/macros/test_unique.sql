{#- The `unique` generic test on Postgres: dbt's query (duplicates of the
    column's non-null values), gated by the catalog. When the column has a
    valid, immediate, total, single-column unique index, Postgres has refused
    every duplicate on write, so the test has nothing to find: the gate is a
    one-time filter and the table scan never runs. Without such an index (a
    view, a table built without one, an index dropped or left invalid) it
    scans the table as dbt's own test does.
-#}
{% macro postgres__test_unique(model, column_name) %}

select
    {{ column_name }} as unique_field,
    count(*) as n_records

from {{ model }}
where
    {{ column_name }} is not null
    {%- if model.identifier is defined %}
    and not exists (
        select
        from pg_index
        inner join pg_attribute
            on
                pg_index.indrelid = pg_attribute.attrelid
                and pg_index.indkey[0] = pg_attribute.attnum
        where
            pg_index.indrelid
            = to_regclass('{{ model | string | replace("'", "''") }}')
            and pg_index.indisunique
            and pg_index.indisvalid
            and pg_index.indimmediate
            and pg_index.indnkeyatts = 1
            and pg_index.indpred is null
            and pg_index.indexprs is null
            and pg_attribute.attname = '{{ column_name }}'
    )
    {%- endif %}
group by {{ column_name }}
having count(*) > 1

{% endmacro %}
