"""Page through every endpoint over real HTTP and get exactly the generated record counts."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS
from waybill_sandbox.timefmt import parse_iso


def _erp_all(base: str, path: str, limit: int, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        body = (
            httpx.get(f"{base}{path}", params=query, headers=ERP_HEADERS).raise_for_status().json()
        )
        out.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out


def _token_all(base: str, path: str, key: str, size_param: str, size: int) -> list[dict]:
    out, token = [], None
    while True:
        query = {size_param: size, **({"page_token": token} if token else {})}
        body = httpx.get(f"{base}{path}", params=query).raise_for_status().json()
        out.extend(body[key])
        token = body.get("nextPageToken")
        if not token:
            return out


def _offset_all(base: str, path: str, limit: int) -> tuple[list[dict], int]:
    out, offset = [], 0
    while True:
        body = (
            httpx.get(f"{base}{path}", params={"offset": offset, "limit": limit})
            .raise_for_status()
            .json()
        )
        out.extend(body["results"])
        offset += limit
        if offset >= body["total"]:
            return out, body["total"]


@pytest.mark.parametrize(
    ("path", "count_key", "id_field"),
    [
        ("/erp/orders", "erp.orders", "order_number"),
        ("/erp/customers", "erp.customers", "customer_id"),
        ("/erp/contracts", "erp.contracts", "contract_id"),
        ("/erp/rate-cards", "erp.rate_cards", "rate_card_id"),
        ("/erp/credit-holds", "erp.credit_holds", "credit_hold_id"),
        ("/erp/inventory", "erp.inventory", "inventory_id"),
    ],
)
def test_erp_cursor_pagination_returns_every_record_once(
    sandbox_url, truth, path, count_key, id_field
):
    records = _erp_all(sandbox_url, path, limit=7 if path == "/erp/orders" else 150)
    assert len(records) == truth["record_counts"][count_key]
    assert len({r[id_field] for r in records}) == len(records)


def test_erp_orders_are_ordered_and_filter_by_updated_since(sandbox_url, truth):
    orders = _erp_all(sandbox_url, "/erp/orders", limit=50)
    instants = [(parse_iso(o["updated_at"]), o["order_number"]) for o in orders]
    assert instants == sorted(instants)
    since = orders[len(orders) // 2]["updated_at"]
    recent = _erp_all(sandbox_url, "/erp/orders", limit=9, updated_since=since)
    expected = {o["order_number"] for o in orders if parse_iso(o["updated_at"]) >= parse_iso(since)}
    assert {o["order_number"] for o in recent} == expected
    assert all(o["ordered_at"][-6:] in ("-06:00", "-05:00") for o in orders)
    assert {o["order_number"] for o in orders} == {s["order_number"] for s in truth["shipments"]}


@pytest.mark.parametrize(
    ("path", "count_key", "key"),
    [
        ("/wms/shipment-confirmations", "wms.shipment_confirmations", "items"),
        ("/wms/inventory-adjustments", "wms.inventory_adjustments", "items"),
        ("/wms/inventory", "wms.inventory", "items"),
    ],
)
def test_wms_page_token_feeds(sandbox_url, truth, path, count_key, key):
    items = _token_all(sandbox_url, path, key, "page_size", 11)
    assert len(items) == truth["record_counts"][count_key]


@pytest.mark.parametrize(
    ("path", "count_key"),
    [
        ("/tms/loads", "tms.loads"),
        ("/tms/shipments", "tms.shipments"),
        ("/tms/rated-charges", "tms.rated_charges"),
    ],
)
def test_tms_offset_pagination(sandbox_url, truth, path, count_key):
    results, total = _offset_all(sandbox_url, path, 13)
    assert total == truth["record_counts"][count_key]
    assert len(results) == total


def test_tms_charges_sum_to_truth_billable_amounts(sandbox_url, truth):
    results, _ = _offset_all(sandbox_url, "/tms/rated-charges", 100)
    shipments, _ = _offset_all(sandbox_url, "/tms/shipments", 100)
    order_of = {s["tms_shipment_id"]: s["customer_reference"] for s in shipments}
    sums: dict[str, int] = {}
    for c in results:
        cents = round(float(c["amount"]) * 100)
        sums[order_of[c["tms_shipment_id"]]] = sums.get(order_of[c["tms_shipment_id"]], 0) + cents
    for s in truth["shipments"]:
        assert sums[s["order_number"]] == round(float(s["billable_amount"]) * 100), s[
            "order_number"
        ]


@pytest.mark.parametrize(
    ("path", "count_key", "key"),
    [
        ("/carriers/parcelco/events", "carriers.parcelco.events", "events"),
        ("/carriers/swiftex/events", "carriers.swiftex.events", "events"),
        ("/carriers/ridgeline/pods", "carriers.ridgeline.pods", "pods"),
    ],
)
def test_carrier_feeds(sandbox_url, truth, path, count_key, key):
    items = _token_all(sandbox_url, path, key, "limit", 17)
    assert len(items) == truth["record_counts"][count_key]


def test_every_parcelco_tracking_number_resolves_in_ups_shape(sandbox_url, truth):
    numbers = [s["tracking_number"] for s in truth["shipments"] if s["carrier_code"] == "parcelco"]
    assert len(numbers) == truth["record_counts"]["carriers.parcelco.tracking_numbers"]
    by_number = {s["tracking_number"]: s for s in truth["shipments"]}
    for tn in numbers:
        body = (
            httpx.get(f"{sandbox_url}/carriers/parcelco/track/v1/details/{tn}")
            .raise_for_status()
            .json()
        )
        package = body["trackResponse"]["shipment"][0]["package"][0]
        assert body["trackResponse"]["shipment"][0]["inquiryNumber"] == tn
        assert package["referenceNumber"][0]["number"] == by_number[tn]["order_number"]
        delivered = [a for a in package["activity"] if a["status"]["type"] == "D"]
        assert bool(delivered) == (by_number[tn]["delivered_at"] is not None)
    missing = httpx.get(f"{sandbox_url}/carriers/parcelco/track/v1/details/1Z4W7E610399999999")
    assert missing.status_code == 404


def test_swiftex_tracking_in_fedex_shape(sandbox_url, truth):
    numbers = [s["tracking_number"] for s in truth["shipments"] if s["carrier_code"] == "swiftex"]
    body = {
        "includeDetailedScans": True,
        "trackingInfo": [
            {"trackingNumberInfo": {"trackingNumber": tn}} for tn in [*numbers[:29], "000000000000"]
        ],
    }
    response = httpx.post(
        f"{sandbox_url}/carriers/swiftex/track/v1/trackingnumbers", json=body
    ).raise_for_status()
    results = response.json()["output"]["completeTrackResults"]
    assert [r["trackingNumber"] for r in results] == [*numbers[:29], "000000000000"]
    assert results[-1]["trackResults"][0]["error"]["code"] == "TRACKING.TRACKINGNUMBER.NOTFOUND"
    assert all("scanEvents" in r["trackResults"][0] for r in results[:-1])


def test_ridgeline_files_listed_and_downloadable(sandbox_url, truth):
    listing = (
        httpx.get(f"{sandbox_url}/carriers/ridgeline/files").raise_for_status().json()["files"]
    )
    expected = sorted(
        f["name"].rsplit("/", 1)[1] for f in truth["files"] if f["kind"].startswith("x12")
    )
    assert sorted(f["name"] for f in listing) == expected
    first = listing[0]
    content = (
        httpx.get(f"{sandbox_url}/carriers/ridgeline/files/{first['name']}")
        .raise_for_status()
        .content
    )
    assert content.startswith(b"ISA") and len(content) == first["size"]


def test_openapi_lists_every_system(sandbox_url):
    paths = httpx.get(f"{sandbox_url}/openapi.json").raise_for_status().json()["paths"]
    for prefix in (
        "/erp/orders",
        "/wms/shipment-confirmations",
        "/tms/loads",
        "/carriers/parcelco/events",
    ):
        assert prefix in paths
