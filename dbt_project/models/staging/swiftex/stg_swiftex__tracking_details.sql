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

final as (

    {{ current_pods(
        "source",
        has_pod="payload -> 'deliveryDetails' ->> 'signedByName' is not null",
        signed_by="payload -> 'deliveryDetails' ->> 'signedByName'",
    ) }}

)

select * from final
