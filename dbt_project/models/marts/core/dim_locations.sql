with

stg_wms__warehouses as (

    select * from {{ ref('stg_wms__warehouses') }}

),

stg_tms__shipments as (

    select * from {{ ref('stg_tms__shipments') }}

),

destinations as (

    select distinct
        destination_city as city,
        destination_state as state,
        destination_postal_code as postal_code
    from stg_tms__shipments
    where destination_city is not null

),

final as (

    select
        warehouse_id as location_id,
        'warehouse' as location_type,
        warehouse_name as location_name,
        city,
        state,
        cast(null as text) as postal_code,
        time_zone
    from stg_wms__warehouses
    union all
    select
        'DEST-' || destinations.state || '-' || destinations.postal_code
            as location_id,
        'destination' as location_type,
        destinations.city || ' ' || destinations.state as location_name,
        destinations.city,
        destinations.state,
        destinations.postal_code,
        coalesce(city_zone.time_zone, state_zone.time_zone) as time_zone
    from destinations
    {{ location_time_zone_joins('destinations', by_country=false) }}

)

select * from final
