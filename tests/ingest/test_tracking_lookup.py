"""Track API details for every tracking number in the event feeds, until each shows its POD."""

from __future__ import annotations

import io
import json

import pytest

from waybill import warehouse
from waybill.ingest import ingest_entity

SEED, SHIPMENTS = 5, 150
POD_FIELD = {"parcelco": "deliveryInformation", "swiftex": "deliveryDetails"}


@pytest.fixture
def carriers(monkeypatch):
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    buffer = io.StringIO()
    write_truth(World(SEED, SHIPMENTS), buffer)
    truth = json.loads(buffer.getvalue())
    with running_sandbox(seed=SEED, shipments=SHIPMENTS) as base_url:
        for carrier in POD_FIELD:
            monkeypatch.setenv(
                f"AIRFLOW_CONN_{carrier.upper()}_API",
                json.dumps({"conn_type": "http", "host": f"{base_url}/carriers/{carrier}"}),
            )
        yield truth


@pytest.mark.parametrize("carrier", sorted(POD_FIELD))
def test_details_land_every_pod_the_carrier_has_and_reruns_ask_only_the_rest(
    clean_warehouse, carriers, carrier: str
) -> None:
    truth_pods = {
        s["tracking_number"]
        for s in carriers["shipments"]
        if s["carrier_code"] == carrier and "pod_received" in (s.get("milestones") or {})
    }
    ingest_entity(carrier, "tracking_events")
    first = ingest_entity(carrier, "tracking_details")

    with warehouse.connect() as conn:
        landed_pods = {
            key
            for (key,) in conn.execute(
                f"select natural_key from raw.{carrier}__tracking_details where payload ? %s",
                (POD_FIELD[carrier],),
            )
        }
        numbers_in_feed = conn.execute(
            f"select count(distinct payload ->> 'trackingNumber')"
            f" from raw.{carrier}__tracking_events"
        ).fetchone()[0]
    assert landed_pods == truth_pods
    assert first["looked_up"] == numbers_in_feed

    again = ingest_entity(carrier, "tracking_details")
    assert again["looked_up"] == numbers_in_feed - len(truth_pods)
    assert again["landed"] == 0
