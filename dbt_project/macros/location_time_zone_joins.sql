{#- Join the `location_time_zones` seed to `located` (a CTE with city, state
    and, unless `by_country` is false, country) twice: `city_zone` is the
    city's zone, `state_zone` the state's default (city '*'). Pick with
    coalesce(city_zone.time_zone, state_zone.time_zone).
-#}
{% macro location_time_zone_joins(located, by_country=true) -%}
    left join {{ ref('location_time_zones') }} as city_zone
        on
            {% if by_country -%}
            {{ located }}.country = city_zone.country
            and {% endif -%}
            {{ located }}.state = city_zone.state
            and {{ located }}.city = city_zone.city
    left join {{ ref('location_time_zones') }} as state_zone
        on
            {% if by_country -%}
            {{ located }}.country = state_zone.country
            and {% endif -%}
            {{ located }}.state = state_zone.state
            and state_zone.city = '*'
{%- endmacro %}
