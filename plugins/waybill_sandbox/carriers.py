"""Carrier endpoints (``/carriers``): ParcelCo (UPS-like), SwiftEx (FedEx-like), Ridgeline
(X12 files), TrackLane (through an aggregator: Shippo's Track format).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from waybill_sandbox import webhooks
from waybill_sandbox.admin import denied as admin_denied
from waybill_sandbox.aggregator_json import shippo_track_updated
from waybill_sandbox.carrier_json import (
    fedex_feed_event,
    fedex_not_found,
    fedex_track_result,
    pod_record_key,
    ridgeline_pod,
    ups_feed_event,
    ups_track_response,
    ups_webhook_body,
)
from waybill_sandbox.feeds import split_key
from waybill_sandbox.state import BadRequest, SandboxState, keyset_page, malform, render
from waybill_sandbox.timefmt import iso_utc

if TYPE_CHECKING:
    from waybill_sandbox.world import World

MAX_PAGE = 500
FEDEX_MAX_NUMBERS = 30


def shipment_index_for(world: World, carrier_code: str, tracking: str) -> int | None:
    """Invert the tracking-number bijection;
    None when ``tracking`` is not one of this world's numbers.
    """
    try:
        if carrier_code == "parcelco":
            if len(tracking) != 18 or not tracking.startswith("1Z4W7E6103"):
                return None
            i = (int(tracking[10:]) - 12345) * pow(48271, -1, 10**8) % 10**8
        elif carrier_code == "swiftex":
            if len(tracking) != 12 or not tracking.isdigit():
                return None
            i = (int(tracking) - 271828182845) * pow(7777777777, -1, 10**12) % 10**12
        elif carrier_code == "tracklane":
            if len(tracking) != 22 or not tracking.startswith("9400") or not tracking.isdigit():
                return None
            i = (int(tracking[4:]) - 31337) * pow(982451653, -1, 10**18) % 10**18
        else:
            if len(tracking) != 10 or not tracking.isdigit():
                return None
            i = (int(tracking) - 10**9 - 1234567) * pow(7919, -1, 10**9) % 10**9
    except ValueError:
        return None
    if i >= world.n:
        return None
    s = world.shipment(i)
    return i if s.carrier.carrier_code == carrier_code and s.tracking_number == tracking else None


def build_router(state: SandboxState) -> APIRouter:
    """The ``/carriers`` router bound to ``state``."""
    router = APIRouter(prefix="/carriers", tags=["carriers"])
    world = state.world

    def feed_page(name: str, page_token: str | None, limit: int, key: str, fn):
        try:
            keys, nxt = keyset_page(state.indexes.get(name), page_token, None, limit, state.clock)
        except BadRequest as exc:
            return JSONResponse(
                {"errors": [{"code": "INVALID_PAGE_TOKEN", "message": str(exc)}]}, status_code=400
            )
        body: dict = {key: render(keys, fn)}
        if nxt:
            body["nextPageToken"] = nxt
        return body

    # --- ParcelCo (UPS Track API v1 shape) ------------------------------------------------------
    @router.get(
        "/parcelco/track/v1/details/{inquiryNumber}",
        summary="ParcelCo tracking (UPS Track API shape)",
    )
    def parcelco_track(inquiryNumber: str):
        i = shipment_index_for(world, "parcelco", inquiryNumber)
        if i is None:
            return JSONResponse(
                {
                    "response": {
                        "errors": [{"code": "TW0001", "message": "Tracking Information Not Found"}]
                    }
                },
                status_code=404,
            )
        return ups_track_response(world.shipment(i), world, state.clock)

    @router.get("/parcelco/events", summary="ParcelCo bulk event feed, in publication order")
    def parcelco_events(
        page_token: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        def one(i: int, k: int):
            s = world.shipment(i)
            rec = ups_feed_event(s, k, world)
            return (
                malform(rec)
                if state.malformed("carriers", f"parcelco/events/{s.tracking_number}/{k}")
                else rec
            )

        return feed_page("carriers.parcelco.events", page_token, limit, "events", one)

    # --- TrackLane (through an aggregator: Shippo track_updated bodies) -------------------------
    @router.get(
        "/tracklane/tracks/updates",
        summary="TrackLane via the aggregator: one Shippo track_updated body per published event",
    )
    def tracklane_updates(
        page_token: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        def one(i: int, k: int):
            s = world.shipment(i)
            rec = shippo_track_updated(s, k)
            return (
                malform(rec)
                if state.malformed("carriers", f"tracklane/events/{s.tracking_number}/{k}")
                else rec
            )

        return feed_page("carriers.tracklane.events", page_token, limit, "updates", one)

    # --- SwiftEx (FedEx Track API shape) --------------------------------------------------------
    @router.post(
        "/swiftex/track/v1/trackingnumbers", summary="SwiftEx tracking (FedEx Track API shape)"
    )
    async def swiftex_track(request: Request):
        try:
            body = await request.json()
            infos = body["trackingInfo"]
            numbers = [str(x["trackingNumberInfo"]["trackingNumber"]) for x in infos]
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {
                    "errors": [
                        {
                            "code": "INVALID.INPUT.EXCEPTION",
                            "message": "trackingInfo[].trackingNumberInfo"
                            ".trackingNumber is required",
                        }
                    ]
                },
                status_code=400,
            )
        if not numbers or len(numbers) > FEDEX_MAX_NUMBERS:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "code": "TRACKING.TRACKINGNUMBER.LIMIT",
                            "message": f"send 1 to {FEDEX_MAX_NUMBERS} tracking numbers",
                        }
                    ]
                },
                status_code=400,
            )
        results = []
        for tn in numbers:
            i = shipment_index_for(world, "swiftex", tn)
            result = (
                fedex_track_result(world.shipment(i), state.clock)
                if i is not None
                else fedex_not_found(tn)
            )
            results.append({"trackingNumber": tn, "trackResults": [result]})
        return {
            "transactionId": f"sandbox-{world.seed}",
            "output": {"completeTrackResults": results},
        }

    @router.get("/swiftex/events", summary="SwiftEx bulk event feed, in publication order")
    def swiftex_events(
        page_token: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        def one(i: int, k: int):
            s = world.shipment(i)
            rec = fedex_feed_event(s, k)
            return (
                malform(rec)
                if state.malformed("carriers", f"swiftex/events/{s.tracking_number}/{k}")
                else rec
            )

        return feed_page("carriers.swiftex.events", page_token, limit, "events", one)

    # --- Ridgeline (X12 files and POD documents) ------------------------------------------------
    @router.get("/ridgeline/files", summary="Ridgeline's X12 214/210 files (an SFTP-style listing)")
    def ridgeline_files():
        return {
            "files": [
                {"name": name, "kind": kind, "size": len(data)}
                for name, (kind, data) in state.files().items()
            ]
        }

    @router.get("/ridgeline/files/{name}", summary="Download one X12 file")
    def ridgeline_file(name: str):
        entry = state.files().get(name)
        if entry is None:
            return JSONResponse({"detail": f"no such file {name!r}"}, status_code=404)
        return Response(entry[1], media_type="application/edi-x12")

    @router.get("/ridgeline/pods", summary="Ridgeline proof-of-delivery documents")
    def ridgeline_pods(
        page_token: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
    ):
        def one(i: int, k: int):
            s = world.shipment(i)
            rec = ridgeline_pod(s, k)
            return (
                malform(rec)
                if state.malformed("carriers", pod_record_key(s.tracking_number, k))
                else rec
            )

        return feed_page("carriers.ridgeline.pods", page_token, limit, "pods", one)

    # --- Webhooks -----------------------------------------------------------------------------
    @router.post(
        "/{carrier}/webhooks/deliveries", summary="Push the carrier's events to a URL, HMAC-signed"
    )
    async def push_webhooks(carrier: str, request: Request):
        if carrier not in state.webhook_secrets:
            return JSONResponse(
                {"detail": f"carrier {carrier!r} does not send webhooks"}, status_code=404
            )
        refused = admin_denied(state, request)  # the sandbox's admin call: no open relay
        if refused is not None:
            return refused
        try:
            body = await request.json()
            url = str(body["url"])
            limit = int(body.get("limit", 100))
            page_token = body.get("page_token")
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"detail": [{"loc": ["body", "url"], "msg": "field required", "type": "missing"}]},
                status_code=422,
            )
        bad_target = webhooks.target_error(url, state.webhook_hosts)
        if bad_target is not None:
            return JSONResponse({"detail": f"will not deliver to {url!r}: {bad_target}"}, 400)
        try:
            keys, nxt = keyset_page(
                state.indexes.get(f"carriers.{carrier}.events"),
                page_token,
                None,
                max(1, min(limit, MAX_PAGE)),
                state.clock,
            )
        except BadRequest as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        events = []
        for key in keys:
            _, i, k = split_key(key)
            s = world.shipment(i)
            payload = (
                ups_webhook_body(s, k, world) if carrier == "parcelco" else fedex_feed_event(s, k)
            )
            events.append((f"{s.tracking_number}-{k}", payload))
        import anyio.to_thread

        result = await anyio.to_thread.run_sync(
            webhooks.deliver, url, events, state.webhook_secrets[carrier], carrier
        )
        return {**result, "next_page_token": nxt, "sent_at": iso_utc(state.clock)}

    return router
