"""Track API details for every tracking number in the event feeds, until each shows a settled
POD (one that first landed more than ``recheck_hours`` ago: a reversal shows only to a client
that asks again)."""

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
    from waybill.sources import get_source

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

    # Within the recheck window a POD is asked about again (nothing new lands)...
    assert get_source(carrier).entities["tracking_details"].options["recheck_hours"] > 0
    within = ingest_entity(carrier, "tracking_details")
    assert (within["looked_up"], within["landed"]) == (numbers_in_feed, 0)
    # ...past it, only the numbers without a POD are.
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            f"update raw.{carrier}__tracking_details set loaded_at = loaded_at - interval '4 days'"
        )
    again = ingest_entity(carrier, "tracking_details")
    assert again["looked_up"] == numbers_in_feed - len(truth_pods)
    assert again["landed"] == 0
