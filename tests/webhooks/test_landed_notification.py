"""A stored push wakes the ingestion DAG's Asset watcher: NOTIFY at commit, heard by the trigger."""

from __future__ import annotations

import asyncio
import json
import time

from tests.webhooks.test_receiver import _post, _signed, client, event_id  # noqa: F401 - fixtures
from waybill.orchestration.landed import RawLandedTrigger, pushed_asset


async def _first_event(trigger: RawLandedTrigger, action, timeout: float = 20):
    """Run ``trigger`` and, once it listens, ``action`` in a thread; return its first event."""
    events = trigger.run()
    first = asyncio.ensure_future(anext(events))
    await asyncio.sleep(1.0)  # connected and listening
    await asyncio.to_thread(action)
    try:
        return await asyncio.wait_for(first, timeout)
    finally:
        await events.aclose()


def test_a_stored_push_fires_the_trigger_once_for_its_table(client, event_id):  # noqa: F811
    body = json.dumps({"trackingNumber": "1Z4W7E610300000001"}).encode()
    trigger = RawLandedTrigger(tables=["parcelco__webhook_events"], settle_s=0.2)

    def push() -> None:
        answer = _post(client, body, event_id, _signed(body, event_id))
        assert answer.json()["stored"] is True

    started = time.monotonic()
    event = asyncio.run(_first_event(trigger, push))
    assert event.payload == {"tables": ["parcelco__webhook_events"]}
    assert time.monotonic() - started < 10


def test_a_replay_and_another_system_s_table_do_not_fire_it(client, event_id):  # noqa: F811
    body = json.dumps({"trackingNumber": "1Z4W7E610300000002"}).encode()
    first = _post(client, body, event_id, _signed(body, event_id))
    assert first.json()["stored"] is True
    trigger = RawLandedTrigger(tables=["swiftex__webhook_events"], settle_s=0.2)

    def replay_and_other() -> None:
        again = _post(client, body, event_id, _signed(body, event_id))
        assert again.json()["replay"] is True

    try:
        asyncio.run(_first_event(trigger, replay_and_other, timeout=3))
    except TimeoutError:
        return
    raise AssertionError("the trigger fired for a replay / another table")


def test_the_pushed_asset_is_watched_by_the_trigger_of_the_system_s_tables() -> None:
    asset = pushed_asset("carriers", ["swiftex__webhook_events", "parcelco__webhook_events"])
    (watcher,) = asset.watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "waybill.orchestration.landed.RawLandedTrigger"
    assert kwargs["tables"] == ["parcelco__webhook_events", "swiftex__webhook_events"]
