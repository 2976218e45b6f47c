with

stg_ridgeline__pods as (

    select * from {{ ref('stg_ridgeline__pods') }}

),

stg_parcelco__tracking_details as (

    select * from {{ ref('stg_parcelco__tracking_details') }}

),

stg_swiftex__tracking_details as (

    select * from {{ ref('stg_swiftex__tracking_details') }}

),

unioned as (

    select
        'ridgeline' as carrier_code,
        tracking_number,
        signed_by,
        pod_received_at,
        loaded_at
    from stg_ridgeline__pods
    where pod_status <> 'REVERSED'
    union all
    select
        'parcelco' as carrier_code,
        tracking_number,
        signed_by,
        pod_received_at,
        loaded_at
    from stg_parcelco__tracking_details
    union all
    select
        'swiftex' as carrier_code,
        tracking_number,
        signed_by,
        pod_received_at,
        loaded_at
    from stg_swiftex__tracking_details

),

final as (

    select
        carrier_code,
        tracking_number,
        min(signed_by) as signed_by,
        min(pod_received_at) as pod_received_at,
        max(loaded_at) as loaded_at
    from unioned
    group by carrier_code, tracking_number

)

select * from final
