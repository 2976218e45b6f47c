"""The sandbox clock over real HTTP: each feed shows only what is visible at the clock, paging
resumed after an advance neither skips nor repeats, and the admin API guards and moves the clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.sandbox.helpers import ERP_HEADERS, truth_of
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.timefmt import iso_utc, parse_iso
from waybill_sandbox.world import World

SEED, SHIPMENTS, CHANGES = 11, 150, 0.4
DAY = 86400
MID = 3 * DAY + 15 * 3600  # mid-afternoon on day 4: some orders released, not yet shipped
TMS_TZ = ZoneInfo("America/New_York")

# name -> (path, kind, records key, id field)
FEEDS = {
    "erp.orders": ("/erp/orders", "cursor", "data", "order_number"),
    "wms.shipment_confirmations": ("/wms/shipment-confirmations", "token", "items", None),
    "wms.inventory_adjustments": ("/wms/inventory-adjustments", "token", "items", None),
    "tms.loads": ("/tms/loads", "offset", "results", "load_id"),
    "tms.shipments": ("/tms/shipments", "offset", "results", "tms_shipment_id"),
    "tms.rated_charges": ("/tms/rated-charges", "offset", "results", None),
    "carriers.parcelco.events": ("/carriers/parcelco/events", "token", "events", None),
    "carriers.swiftex.events": ("/carriers/swiftex/events", "token", "events", None),
    "carriers.ridgeline.pods": ("/carriers/ridgeline/pods", "token", "pods", None),
}
# Small ERP lists page the same way (credit holds appear and are released as the clock moves).
SMALL_LISTS = {
    "erp.credit_holds": ("/erp/credit-holds", "cursor", "data", "credit_hold_id"),
    "erp.customers": ("/erp/customers", "cursor", "data", "customer_id"),
}


def read_feed(base: str, feed: str, position=None, size: int = 40) -> tuple[list, list, object]:
    """Page through ``feed`` from ``position``. Returns (records before the last page, records of
    the last page, the position that fetched the last page) — what a connector stores to resume."""
    path, kind, key, _ = {**FEEDS, **SMALL_LISTS}[feed]
    before: list = []
    while True:
        if kind == "cursor":
            params = {"limit": size, **({"cursor": position} if position else {})}
        elif kind == "token":
            size_param = "page_size" if feed.startswith("wms") else "limit"
            params = {size_param: size, **({"page_token": position} if position else {})}
        else:
            params = {"offset": position or 0, "limit": size}
        body = httpx.get(base + path, params=params, headers=ERP_HEADERS).raise_for_status().json()
        page = body[key]
        if kind == "cursor":
            nxt = body["next_cursor"]
        elif kind == "token":
            nxt = body.get("nextPageToken")
        else:
            nxt = (position or 0) + size if (position or 0) + size < body["total"] else None
        if not nxt:
            return before, page, position
        before.extend(page)
        position = nxt


def advance(base: str, **body) -> httpx.Response:
    return httpx.post(f"{base}/admin/clock", json=body, headers=ERP_HEADERS)


@pytest.fixture(scope="module")
def world() -> World:
    return World(SEED, SHIPMENTS, changes=CHANGES)


@pytest.fixture(scope="module")
def mid_sandbox(world):
    """A sandbox whose clock starts in the middle of the window (module-scoped: tests advance it
    only in test_paging_resumed_after_an_advance..., which runs last in this module)."""
    with running_sandbox(
        seed=SEED, shipments=SHIPMENTS, changes=CHANGES, clock=world.start_epoch + MID
    ) as base:
        yield base


def _naive_ny(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TMS_TZ).timestamp())


def test_every_feed_shows_only_records_visible_at_the_clock(mid_sandbox, world):
    clock = world.start_epoch + MID
    got = {}
    for feed in FEEDS:
        before, last, _ = read_feed(mid_sandbox, feed)
        got[feed] = before + last
    times = {
        "erp.orders": lambda r: parse_iso(r["updated_at"]),
        "wms.shipment_confirmations": lambda r: parse_iso(r["sent_at"]),
        "wms.inventory_adjustments": lambda r: parse_iso(r["adjusted_at"]),
        "tms.loads": lambda r: _naive_ny(r["tendered_at"]),
        "tms.shipments": lambda r: _naive_ny(r["tendered_at"]),
        "tms.rated_charges": lambda r: _naive_ny(r["updated_at"]),
        "carriers.parcelco.events": lambda r: parse_iso(r["publishedAt"]),
        "carriers.swiftex.events": lambda r: parse_iso(r["publishedAt"]),
        "carriers.ridgeline.pods": lambda r: parse_iso(r["updated_at"]),
    }
    full = truth_of(SEED, SHIPMENTS, changes=CHANGES)["record_counts"]
    for feed, records in got.items():
        assert records, feed
        assert all(times[feed](r) <= clock for r in records), feed
        assert len(records) < full[feed], feed
    # Status as of the clock: nothing delivered later shows delivered, orders not yet known
    # shipped are RELEASED.
    for s in got["tms.shipments"]:
        assert (s["delivered_at"] is None) == (s["status"] != "DELIVERED")
        if s["delivered_at"]:
            assert _naive_ny(s["delivered_at"]) <= clock
    assert {o["status"] for o in got["erp.orders"]} <= {"RELEASED", "SHIPPED", "CANCELLED"}
    assert any(o["status"] == "RELEASED" for o in got["erp.orders"])


def test_track_apis_files_and_credit_holds_follow_the_clock(mid_sandbox, world):
    clock = world.start_epoch + MID
    later = [
        s
        for s in world.iter_shipments()
        if s.carrier.carrier_code == "parcelco"
        and s.delivered_at is not None
        and s.delivered_at > clock
        and any(e.published_at <= clock for e in s.events)
    ]
    assert later
    package = httpx.get(
        f"{mid_sandbox}/carriers/parcelco/track/v1/details/{later[0].tracking_number}"
    ).json()["trackResponse"]["shipment"][0]["package"][0]
    assert "deliveryInformation" not in package
    assert package["deliveryDate"][0]["type"] == "SDD"
    published = sum(
        1 for e in later[0].events if e.published_at <= clock and e.duplicate_of is None
    )
    assert len(package["activity"]) == published
    holds = httpx.get(f"{mid_sandbox}/erp/credit-holds", headers=ERP_HEADERS).json()["data"]
    for h in holds:
        assert parse_iso(h["placed_at"]) <= clock
        assert h["released_at"] is None or parse_iso(h["released_at"]) <= clock
    health = httpx.get(f"{mid_sandbox}/health").json()
    assert (health["clock"], health["horizon"]) == (iso_utc(clock), iso_utc(world.as_of))


def test_admin_clock_needs_the_full_scope_token_and_never_goes_backwards(world):
    with running_sandbox(seed=SEED, shipments=30, changes=CHANGES, clock="START") as base:
        small = World(SEED, 30)
        assert httpx.get(f"{base}/admin/clock").status_code == 401
        readonly = {"Authorization": "Bearer sandbox-readonly-token"}
        assert (
            httpx.post(f"{base}/admin/clock", json={"advance_hours": 1}, headers=readonly)
        ).status_code == 401
        body = httpx.get(f"{base}/admin/clock", headers=ERP_HEADERS).json()
        assert body == {
            "clock": iso_utc(small.start_epoch),
            "start": iso_utc(small.start_epoch),
            "horizon": iso_utc(small.as_of),
        }
        moved = advance(base, advance_hours=5).json()
        assert moved["clock"] == iso_utc(small.start_epoch + 5 * 3600)
        back = advance(base, to=iso_utc(small.start_epoch))
        assert back.status_code == 409
        assert advance(base, advance_hours=-1).status_code == 409
        assert advance(base, hours=3).status_code == 422
        assert advance(base, to=iso_utc(small.as_of + 10 * DAY)).json()["clock"] == iso_utc(
            small.as_of
        )


def test_paging_resumed_after_an_advance_neither_skips_nor_repeats(mid_sandbox):
    saved = {
        feed: read_feed(mid_sandbox, feed, size=3 if feed in SMALL_LISTS else 40)
        for feed in {**FEEDS, **SMALL_LISTS}
    }
    assert advance(mid_sandbox, advance_hours=60).status_code == 200
    for feed, (before, _last, position) in saved.items():
        resumed_before, resumed_last, _ = read_feed(mid_sandbox, feed, position)
        fresh_before, fresh_last, _ = read_feed(mid_sandbox, feed)
        union, fresh = before + resumed_before + resumed_last, fresh_before + fresh_last
        id_field = {**FEEDS, **SMALL_LISTS}[feed][3]
        if id_field is None:  # append-only feeds: the very same records, in the same order
            assert union == fresh, feed
        else:  # snapshots and versioned records: the same ids, the latest version of each
            assert [r[id_field] for r in union] == [r[id_field] for r in fresh] or (
                {r[id_field]: r for r in union} == {r[id_field]: r for r in fresh}
            ), feed
        assert len(fresh) > len(before) + len(_last) or feed in SMALL_LISTS, feed


def test_advancing_to_the_end_releases_files_and_serves_the_truth_record_counts():
    # Ridgeline batches 20 shipments per 214 file: a longer window releases files along the way.
    shipments = 400
    truth = truth_of(SEED, shipments, changes=CHANGES)
    counts = truth["record_counts"]
    with running_sandbox(seed=SEED, shipments=shipments, changes=CHANGES, clock="START") as base:
        file_counts = []
        while True:
            files = httpx.get(f"{base}/carriers/ridgeline/files").json()["files"]
            file_counts.append(len(files))
            clock = advance(base, advance_hours=24).raise_for_status().json()
            if clock["clock"] == clock["horizon"]:
                break
        files = httpx.get(f"{base}/carriers/ridgeline/files").json()["files"]
        assert sorted(f"ridgeline/{f['kind']}/{f['name']}" for f in files) == sorted(
            f["name"] for f in truth["files"] if f["name"].startswith("ridgeline/")
        )
        assert file_counts == sorted(file_counts) and file_counts[0] == 0
        assert any(0 < n < len(files) for n in file_counts)
        unreleased = httpx.get(f"{base}/carriers/ridgeline/files/{files[-1]['name']}")
        assert unreleased.status_code == 200
        for feed in FEEDS:
            before, last, _ = read_feed(base, feed, size=200)
            assert len(before) + len(last) == counts[feed], feed
