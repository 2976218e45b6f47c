"""The sandbox's aggregator carrier and Track API details through the configured normalisers.

Expected counts come from the world (its events, counted here), not from the normalisers.
"""

from __future__ import annotations

from waybill.connectors.carrier_records import EventsSpec, record_events
from waybill.connectors.carriers import CanonicalEvent
from waybill.sources import get_source
from waybill_sandbox.aggregator_json import shippo_track_updated
from waybill_sandbox.carrier_json import fedex_feed_event, fedex_track_result
from waybill_sandbox.carriers import shipment_index_for
from waybill_sandbox.world import World


def _spec(source: str, entity: str) -> EventsSpec:
    config = get_source(source).entity(entity)
    spec = EventsSpec.from_options(f"{source}/{entity}", config.options, config.kind)
    assert spec is not None
    return spec


def _ids(payload: dict, spec: EventsSpec, carrier: str) -> set[str]:
    items = list(record_events(payload, spec, carrier=carrier, source="test"))
    assert all(isinstance(item, CanonicalEvent) for item in items), items
    return {item.event_id for item in items if isinstance(item, CanonicalEvent)}


def test_each_tracklane_event_lands_once_through_the_aggregator_feed() -> None:
    world = World(7, 60)
    spec = _spec("tracklane", "tracking_updates")
    assert (spec.format, spec.channel) == ("shippo", "aggregator")
    shipments = [s for s in world.iter_shipments() if s.carrier.carrier_code == "tracklane"]
    assert shipments
    for s in shipments:
        assert shipment_index_for(world, "tracklane", s.tracking_number) == s.index
        assert s.pod_at is None  # the aggregator shows no POD
        ids: set[str] = set()
        for k in range(len(s.events)):
            ids |= _ids(shippo_track_updated(s, k), spec, "tracklane")
        # Each Track repeats the history: every distinct event once, re-publications included.
        assert len(ids) == sum(1 for e in s.events if e.duplicate_of is None), s.order_number


def test_a_swiftex_scan_from_the_feed_and_from_the_track_api_is_one_event() -> None:
    world = World(7, 60)
    feed, details = _spec("swiftex", "tracking_events"), _spec("swiftex", "tracking_details")
    shipments = [s for s in world.iter_shipments() if s.carrier.carrier_code == "swiftex"]
    assert shipments
    for s in shipments:
        pulled: set[str] = set()
        for k in range(len(s.events)):
            pulled |= _ids(fedex_feed_event(s, k), feed, "swiftex")
        looked_up = _ids(fedex_track_result(s), details, "swiftex")
        # The Track API adds its dateAndTimes (ACTUAL_PICKUP, SHIP, ACTUAL_DELIVERY); every
        # scan it shows is the feed's.
        assert pulled <= looked_up, s.order_number
        assert len(looked_up - pulled) == len(fedex_track_result(s)["dateAndTimes"])
