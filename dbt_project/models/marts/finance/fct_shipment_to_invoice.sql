{{
    config(
        materialized='incremental',
        unique_key='shipment_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['shipment_id']},
            {'columns': ['loaded_at']},
        ],
    )
}}

-- Read only by an incremental run, to find the touched shipments:
-- depends_on: {{ ref('stg_erp__customers') }}
-- depends_on: {{ ref('stg_erp__credit_holds') }}
-- depends_on: {{ ref('stg_erp__contracts') }}
-- depends_on: {{ ref('stg_erp__rate_cards') }}
-- depends_on: {{ ref('stg_tms__rated_charges') }}

{%- set lookback_from = lookback_start() %}

with

{% if is_incremental() and lookback_from is not none -%}
-- An incremental run rebuilds the shipments touched since the lookback:
-- rebuilt in fct_shipments, or whose customer (its record, credit holds,
-- contracts, rate cards), rated charges, proof of delivery or posted
-- invoice landed since.
touched_customers as (

    {%- for model in [
        'stg_erp__customers',
        'stg_erp__credit_holds',
        'stg_erp__contracts',
        'stg_erp__rate_cards',
    ] %}
    select customer_id from {{ ref(model) }}
    {{ landed_since(lookback_from) }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}

),

touched_shipments as (

    -- Semi-joins, not `= any(array(...))`: a seq scan would compare each
    -- shipment with every element of each array.
    select shipment_id
    from {{ ref('fct_shipments') }}
    {{ landed_since(lookback_from) }}
    union
    select shipment_id
    from {{ ref('fct_shipments') }}
    where customer_id in (select customer_id from touched_customers)
    union
    select shipment_id
    from {{ ref('fct_shipments') }}
    where tms_shipment_id in (
        select tms_shipment_id from {{ ref('stg_tms__rated_charges') }}
        {{ landed_since(lookback_from) }}
    )
    union
    select shipment_id
    from {{ ref('fct_shipments') }}
    where tracking_number in (
        select tracking_number from {{ ref('int_proofs_of_delivery_unioned') }}
        {{ landed_since(lookback_from) }}
    )
    union
    select shipment_id
    from {{ ref('fct_shipments') }}
    where 'INV-' || order_number in (
        select invoice_id from {{ ref('stg_ops__billing_outbox') }}
        where last_posted_at >= cast('{{ lookback_from }}' as timestamptz)
    )

),

{% endif -%}
fct_shipments as (

    select * from {{ ref('fct_shipments') }}
    where true
    {{- and_touched(
        'shipment_id', 'select shipment_id from touched_shipments', lookback_from
    ) }}

),

fct_freight_charges as (

    select * from {{ ref('fct_freight_charges') }}
    {%- if is_incremental() and lookback_from is not none %}
    -- Not indexed: a hashed semi-join rather than an array compared per row.
    where shipment_id in (select shipment_id from touched_shipments)
    {%- endif %}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

int_shipment_milestones_pivoted as (

    select * from {{ ref('int_shipment_milestones_pivoted') }}

),

int_proofs_of_delivery_unioned as (

    select * from {{ ref('int_proofs_of_delivery_unioned') }}

),

int_wms_shipment_confirmations_unioned as (

    select * from {{ ref('int_wms_shipment_confirmations_unioned') }}

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

int_shipment_identities_resolved as (

    select * from {{ ref('int_shipment_identities_resolved') }}

),

stg_ops__billing_outbox as (

    select * from {{ ref('stg_ops__billing_outbox') }}

),

charge_totals as (

    select
        shipment_id,
        sum(amount) as billable_amount,
        min(currency) as currency,
        count(*) as charge_count,
        bool_or(
            rate_source = 'TMS_DEFAULT_TARIFF' or not is_on_rate_card
        ) as has_charge_out_of_contract,
        bool_or(is_on_rate_card and not is_at_contract_rate)
            as has_charge_off_contract_rate,
        max(created_at) as last_charge_at
    from fct_freight_charges
    group by shipment_id

),

joined as (

    select
        fct_shipments.shipment_id,
        fct_shipments.order_number,
        fct_shipments.tracking_number,
        fct_shipments.carrier_code,
        fct_shipments.customer_id,
        fct_shipments.match_status,
        fct_shipments.ordered_at,
        wms.released_at,
        wms.picked_at,
        wms.packed_at,
        wms.shipped_at,
        tms.tendered_at,
        milestones.picked_up_at,
        milestones.in_transit_at,
        milestones.out_for_delivery_at,
        fct_shipments.delivered_at,
        pods.pod_received_at,
        fct_shipments.has_damage,
        coalesce(identities.order_status = 'CANCELLED', false) as is_cancelled,
        coalesce(dim_customers.is_on_credit_hold, false) as is_on_credit_hold,
        coalesce(charge_totals.has_charge_out_of_contract, false)
            as has_charge_out_of_contract,
        coalesce(charge_totals.has_charge_off_contract_rate, false)
            as has_charge_off_contract_rate,
        coalesce(charge_totals.billable_amount, 0)::numeric(14, 2)
            as billable_amount,
        coalesce(charge_totals.currency, dim_customers.currency) as currency,
        coalesce(charge_totals.charge_count, 0) as charge_count,
        charge_totals.last_charge_at,
        'INV-' || fct_shipments.order_number as invoice_id,
        outbox.invoiced_at,
        outbox.erp_document_number,
        greatest(fct_shipments.loaded_at, pods.loaded_at) as loaded_at
    from fct_shipments
    left join int_shipment_milestones_pivoted as milestones
        on fct_shipments.shipment_id = milestones.shipment_id
    left join int_wms_shipment_confirmations_unioned as wms
        on fct_shipments.wms_shipment_id = wms.wms_shipment_id
    left join stg_tms__shipments as tms
        on fct_shipments.tms_shipment_id = tms.tms_shipment_id
    left join int_proofs_of_delivery_unioned as pods
        on
            fct_shipments.carrier_code = pods.carrier_code
            and fct_shipments.tracking_number = pods.tracking_number
    left join int_shipment_identities_resolved as identities
        on fct_shipments.shipment_id = identities.shipment_id
    left join dim_customers
        on fct_shipments.customer_id = dim_customers.customer_id
    left join charge_totals
        on fct_shipments.shipment_id = charge_totals.shipment_id
    left join stg_ops__billing_outbox as outbox
        on 'INV-' || fct_shipments.order_number = outbox.invoice_id

),

holds as (

    -- Hold reasons apply to delivered shipments only, in the documented
    -- order (var `hold_reason_order`).
    select
        *,
        case
            when delivered_at is null then array[]::text[]
            else array_remove(
                array[
                    case when is_cancelled then 'cancelled' end,
                    case when pod_received_at is null then 'missing_pod' end,
                    case when has_damage then 'open_exception' end,
                    case when is_on_credit_hold then 'credit_hold' end,
                    case
                        when has_charge_out_of_contract
                            then 'charge_out_of_contract'
                    end,
                    case
                        when has_charge_off_contract_rate
                            then 'charge_not_at_contract_rate'
                    end
                ],
                null
            )
        end as hold_reasons
    from joined

),

revocable as (

    -- An invoice stays billed unless the order was cancelled or its POD
    -- withdrawn: then billing credits it (a credit hold or a new charge does
    -- not un-bill what was posted; it holds the next document instead).
    select
        *,
        invoiced_at is not null
        and not is_cancelled
        and pod_received_at is not null
        and charge_count > 0 as is_invoiced
    from holds

),

final as (

    select
        shipment_id,
        order_number,
        tracking_number,
        carrier_code,
        customer_id,
        match_status,
        ordered_at,
        released_at,
        picked_at,
        packed_at,
        shipped_at,
        tendered_at,
        picked_up_at,
        in_transit_at,
        out_for_delivery_at,
        delivered_at,
        pod_received_at,
        invoiced_at,
        case
            when is_invoiced then 'invoiced'
            when
                delivered_at is null
                or match_status not in ('matched', 'tracking_number_conflict')
                or charge_count = 0
                then 'not_ready'
            when cardinality(hold_reasons) > 0 then 'held'
            else 'ready'
        end as billing_status,
        case
            when is_invoiced then null
            when delivered_at is null then 'not_delivered'
            when
                match_status not in ('matched', 'tracking_number_conflict')
                then match_status
            when charge_count = 0 then 'no_rated_charges'
        end as not_ready_reason,
        hold_reasons,
        hold_reasons[1] as hold_reason,
        billable_amount,
        currency,
        charge_count,
        case
            when invoiced_at is not null or delivered_at is not null
                then invoice_id
        end as invoice_id,
        erp_document_number,
        extract(epoch from invoiced_at - delivered_at)
        / 3600.0 as delivery_to_invoice_hours,
        loaded_at
    from revocable

)

select * from final
