{#- Optional source: the Track API's trackResult per tracking number. It is the
    only SwiftEx record that says a POD exists (deliveryDetails); until
    it is landed this model is empty and SwiftEx shipments have no POD. -#}
with

source as (

    {{ optional_relation(source('swiftex', 'tracking_details'), {
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
        'raw_id': 'bigint',
    }) }}

),

with_pod as (

    select
        natural_key as tracking_number,
        payload -> 'deliveryDetails' ->> 'signedByName' as signed_by,
        loaded_at,
        raw_id
    from source
    where payload -> 'deliveryDetails' ->> 'signedByName' is not null

),

final as (

    -- The API gives no receipt time: the POD is known from its first
    -- landing.
    select
        tracking_number,
        min(signed_by) as signed_by,
        min(loaded_at) as pod_received_at,
        max(loaded_at) as loaded_at
    from with_pod
    group by tracking_number

)

select * from final
