{#- The shipments whose carrier roll-ups an incremental run recomputes: those
    with carrier events landed since `start` (see lookback_start), and the
    orders of TMS shipments landed since — a TMS shipment can give events
    that landed long before it their order, or take it away. Every shipment
    when `start` is none (a full build).
-#}
{% macro shipments_touched_since(start) -%}
    select shipment_id
    from {{ ref('int_carrier_events_normalised') }}
    {{ landed_since(start) }}
    union
    select {{ surrogate_key(['order_number']) }}
    from {{ ref('stg_tms__shipments') }}
    {{ landed_since(start) }}
{%- endmacro %}
