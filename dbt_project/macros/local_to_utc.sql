{#- A wall-clock timestamp (no offset) read in an IANA zone, as timestamptz. -#}
{% macro local_to_utc(local_timestamp, time_zone) -%}
    ({{ local_timestamp }}) at time zone ({{ time_zone }})
{%- endmacro %}
