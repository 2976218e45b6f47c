with

carriers as (

    select * from {{ ref('carriers') }}

),

final as (

    select
        carrier_code,
        scac,
        carrier_name,
        transport_mode,
        tracking_standard,
        tracking_channel
    from carriers

)

select * from final
