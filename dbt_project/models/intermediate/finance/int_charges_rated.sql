with

stg_tms__rated_charges as (

    select * from {{ ref('stg_tms__rated_charges') }}
    -- A voided charge (a cancelled shipment) bills nothing.
    where charge_status <> 'VOIDED'

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

stg_erp__orders as (

    select * from {{ ref('stg_erp__orders') }}

),

snp_erp__rate_cards as (

    select * from {{ ref('snp_erp__rate_cards') }}
    where dbt_valid_to is null

),

charges as (

    select
        stg_tms__rated_charges.*,
        stg_tms__shipments.order_number,
        stg_tms__shipments.ship_date,
        stg_tms__shipments.transport_mode,
        stg_erp__orders.customer_id
    from stg_tms__rated_charges
    left join stg_tms__shipments
        on
            stg_tms__rated_charges.tms_shipment_id
            = stg_tms__shipments.tms_shipment_id
    left join stg_erp__orders
        on stg_tms__shipments.order_number = stg_erp__orders.order_number

),

in_force as (

    -- The customer's rate card version in force on the (warehouse-local)
    -- ship date: the latest effective_from on or before it.
    select distinct on (charges.charge_id)
        charges.charge_id,
        snp_erp__rate_cards.rate_card_id,
        snp_erp__rate_cards.contract_id,
        snp_erp__rate_cards.parcel_base,
        snp_erp__rate_cards.parcel_per_kg,
        snp_erp__rate_cards.ltl_base,
        snp_erp__rate_cards.ltl_per_kg,
        snp_erp__rate_cards.fuel_surcharge_pct,
        snp_erp__rate_cards.accessorial_rates
    from charges
    inner join snp_erp__rate_cards
        on
            charges.customer_id = snp_erp__rate_cards.customer_id
            and charges.ship_date >= snp_erp__rate_cards.effective_from
            and (
                snp_erp__rate_cards.effective_to is null
                or charges.ship_date <= snp_erp__rate_cards.effective_to
            )
    order by
        charges.charge_id asc,
        snp_erp__rate_cards.effective_from desc

),

linehaul as (

    select
        charges.tms_shipment_id,
        round(
            case charges.transport_mode
                when 'LTL'
                    then
                        in_force.ltl_base
                        + in_force.ltl_per_kg * charges.quantity
                else
                    in_force.parcel_base
                    + in_force.parcel_per_kg * charges.quantity
            end,
            2
        ) as contract_linehaul
    from charges
    inner join in_force on charges.charge_id = in_force.charge_id
    where charges.charge_code = 'LINEHAUL'

),

rated as (

    select
        charges.charge_id,
        charges.tms_shipment_id,
        charges.order_number,
        charges.customer_id,
        charges.ship_date,
        charges.transport_mode,
        charges.charge_code,
        charges.quantity,
        charges.quantity_unit,
        charges.amount,
        charges.currency,
        charges.cost_amount,
        charges.cost_currency,
        charges.rate_source,
        charges.created_at,
        charges.rate_card_id as tms_rate_card_id,
        in_force.rate_card_id,
        in_force.contract_id,
        case
            when charges.charge_code = 'LINEHAUL'
                then linehaul.contract_linehaul
            when charges.charge_code = 'FUEL'
                then round(
                    linehaul.contract_linehaul
                    * in_force.fuel_surcharge_pct / 100,
                    2
                )
            when charges.charge_code = 'DETENTION'
                then round(
                    (in_force.accessorial_rates ->> 'DETENTION')::numeric
                    * charges.quantity,
                    2
                )
            else (in_force.accessorial_rates ->> charges.charge_code)::numeric
        end::numeric(14, 2) as contract_amount
    from charges
    left join in_force on charges.charge_id = in_force.charge_id
    left join linehaul on charges.tms_shipment_id = linehaul.tms_shipment_id

),

final as (

    select
        *,
        contract_amount is not null as is_on_rate_card,
        coalesce(amount = contract_amount, false) as is_at_contract_rate,
        case
            when charge_code in ('LINEHAUL', 'FUEL') then 1
            else 2
        end as charge_order
    from rated

)

select * from final
