{#- Optional source: the Track API's package per tracking number. It is the
    only ParcelCo record that says a POD exists (deliveryInformation); until
    it is landed this model is empty and ParcelCo shipments have no POD. -#}
with

source as (

    {{ optional_relation(source('parcelco', 'tracking_details'), {
        'natural_key': 'text',
        'payload': 'jsonb',
        'loaded_at': 'timestamptz',
        'raw_id': 'bigint',
    }) }}

),

with_pod as (

    select
        natural_key as tracking_number,
        payload -> 'deliveryInformation' ->> 'receivedBy' as signed_by,
        loaded_at,
        raw_id
    from source
    where payload -> 'deliveryInformation' is not null

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
