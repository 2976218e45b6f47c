{#- An event the carrier gave no order takes it from the TMS shipment that
    names its tracking number, and that shipment may land after the event, or
    be re-sent with another tracking number. `tms_rekeyed_tracking_numbers`
    are the tracking numbers whose events a TMS shipment landed since `start`
    may give or take an order: the ones it names, and those of the events the
    model ({{ this }}, with tracking_number and shipment_id) built under its
    order. `landed_or_rekeyed` selects from `relation` the rows landed since
    `start` plus, landed before, those with such a tracking number; every row
    when `start` is none (a full build).
-#}
{% macro tms_rekeyed_tracking_numbers(start) -%}
    select carrier_reference as tracking_number
    from {{ ref('stg_tms__shipments') }}
    {{ landed_since(start) }}
    union
    select tracking_number
    from {{ this }}
    where shipment_id in (
        {{ tms_shipment_ids_landed_since(start) | indent(8) }}
    )
{%- endmacro %}


{#- The shipment_id of the order of each TMS shipment landed since `start`
    (every one when `start` is none).
-#}
{% macro tms_shipment_ids_landed_since(start) -%}
    select {{ surrogate_key(['order_number']) }} as shipment_id
    from {{ ref('stg_tms__shipments') }}
    {{ landed_since(start) }}
{%- endmacro %}


{% macro landed_or_rekeyed(relation, start) -%}
    select * from {{ relation }}
    {{ landed_since(start) }}
    {%- if start is not none %}
    union all
    select * from {{ relation }}
    {{ landed_before(start) }}
    -- An array, not a subquery: index probes, not a join over the history.
    and tracking_number = any(array(
        {{ tms_rekeyed_tracking_numbers(start) | indent(8) }}
    ))
    {%- endif %}
{%- endmacro %}
