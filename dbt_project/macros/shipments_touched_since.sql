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
    {{ tms_shipment_ids_landed_since(start) }}
{%- endmacro %}


{#- The carrier events of the shipments touched since `start`, from all of
    their events (those with no order belong to no shipment): what a
    per-shipment roll-up of carrier events recomputes in an incremental run;
    every event with an order in a full build.
-#}
{% macro touched_shipment_events(start) -%}
    select events.*
    from {{ ref('int_carrier_events_normalised') }} as events
    inner join (
        {{ shipments_touched_since(start) | indent(8) }}
    ) as touched_shipments
        on events.shipment_id = touched_shipments.shipment_id
    where events.order_number is not null
{%- endmacro %}
