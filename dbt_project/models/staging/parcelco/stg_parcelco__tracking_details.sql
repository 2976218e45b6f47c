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

final as (

    {{ current_pods(
        "source",
        has_pod="payload -> 'deliveryInformation' is not null",
        signed_by="payload -> 'deliveryInformation' ->> 'receivedBy'",
    ) }}

)

select * from final
