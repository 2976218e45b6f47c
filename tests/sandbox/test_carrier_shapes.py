"""Carrier payloads use the field names of the real UPS and FedEx samples in the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from waybill_sandbox.carrier_json import fedex_track_result, ups_track_response
from waybill_sandbox.world import World

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "carriers"


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


def _shipments(carrier: str):
    world = World(31, 300)
    return world, [s for s in world.iter_shipments() if s.carrier.carrier_code == carrier]


def test_parcelco_fields_exist_in_the_ups_track_api(corpus):
    sample = json.loads((corpus / "ups__test_tracking__TrackingResponseJSON.json").read_text())
    spec = (corpus / "Tracking.yaml").read_text()
    sample_package = sample["trackResponse"]["shipment"][0]["package"][0]
    sample_activity = sample_package["activity"][0]
    world, shipments = _shipments("parcelco")
    drifted = 0
    for s in shipments:
        package = ups_track_response(s, world)["trackResponse"]["shipment"][0]["package"][0]
        assert set(package) <= set(sample_package), set(package) - set(sample_package)
        for activity in package["activity"]:
            extra = set(activity) - set(sample_activity)
            assert all(f"{name}:" in spec for name in extra), extra
            assert set(activity["status"]) <= set(sample_activity["status"])
            drifted += bool(extra)
    assert drifted, "the gmt* fields never appeared (schema drift missing)"


def test_swiftex_fields_exist_in_the_fedex_track_api(corpus):
    sample = json.loads((corpus / "fedex__test_tracking__TrackingResponse.json").read_text())
    sample_result = sample["output"]["completeTrackResults"][0]["trackResults"][0]
    _world, shipments = _shipments("swiftex")
    for s in shipments:
        result = fedex_track_result(s)
        assert set(result) <= set(sample_result), set(result) - set(sample_result)
        for scan in result["scanEvents"]:
            assert set(scan) <= set(sample_result["scanEvents"][0]), set(scan) - set(
                sample_result["scanEvents"][0]
            )
