with

stg_wms__inventory as (

    select * from {{ ref('stg_wms__inventory') }}

),

stg_erp__inventory as (

    select * from {{ ref('stg_erp__inventory') }}

),

wms as (

    select
        warehouse_id as location_id,
        sku,
        (snapshot_at at time zone '{{ var("kpi_time_zone") }}')::date
            as inventory_date,
        on_hand_quantity
    from stg_wms__inventory

),

erp as (

    select
        location_id,
        sku,
        (as_of_at at time zone '{{ var("kpi_time_zone") }}')::date
            as inventory_date,
        on_hand_quantity
    from stg_erp__inventory

),

final as (

    select
        {{ surrogate_key([
            'coalesce(wms.location_id, erp.location_id)',
            'coalesce(wms.sku, erp.sku)',
            'coalesce(wms.inventory_date, erp.inventory_date)',
        ]) }} as inventory_sync_id,
        coalesce(wms.location_id, erp.location_id) as location_id,
        coalesce(wms.sku, erp.sku) as sku,
        coalesce(wms.inventory_date, erp.inventory_date) as inventory_date,
        wms.on_hand_quantity as wms_on_hand_quantity,
        erp.on_hand_quantity as erp_on_hand_quantity,
        coalesce(wms.on_hand_quantity, 0)
        - coalesce(erp.on_hand_quantity, 0) as quantity_difference,
        coalesce(wms.on_hand_quantity = erp.on_hand_quantity, false)
            as is_match
    from wms
    full outer join erp
        on
            wms.location_id = erp.location_id
            and wms.sku = erp.sku
            and wms.inventory_date = erp.inventory_date

)

select * from final
