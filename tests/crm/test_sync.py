"""sync_crm's logic against a real Postgres and the sandbox CRM over HTTP: only changes are sent,
one case per exception, a cleared exception updates its case, a crash after the CRM accepted a
batch duplicates nothing on rerun, and a record the CRM refuses is dead-lettered with its message.

The marts are small hand-made tables (the e2e test builds the real ones)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from waybill.crm import sync
from waybill.crm.client import sandbox_crm_connection
from waybill_sandbox.server import running_sandbox

# The sandbox world's horizon for (seed 7, 60 shipments): the CRM's clock.
MARTS_DDL = """
create schema if not exists marts;
create schema if not exists staging;
create table marts.fct_shipments (
    shipment_id text, order_number text, customer_id text, shipped_at timestamptz,
    delivered_at timestamptz, promised_delivery_at timestamptz, has_damage boolean,
    is_lost boolean
);
create view marts.fct_customer_shipment_status as
select shipment_id, order_number, customer_id,
    case when delivered_at is not null then 'delivered' when is_lost then 'lost'
        when shipped_at is not null then 'in_transit' else 'processing' end
        as customer_visible_status
from marts.fct_shipments;
create table marts.fct_shipment_to_invoice (shipment_id text, hold_reasons text[]);
create table marts.fct_shipment_milestones (
    shipment_id text, milestone text, is_exception boolean, event_at timestamptz
);
create table staging.stg_erp__disputes (
    dispute_id text, shipment_ids jsonb, reason_code text, disputed_amount numeric,
    currency text, raised_at timestamptz, dispute_status text
);
"""
T0 = "2025-01-01T00:00:00Z"


def _shipment(
    conn,
    n: int,
    *,
    customer="C0001",
    shipped=T0,
    delivered=None,
    promised="2025-01-03T00:00:00Z",
    damage=False,
    lost=False,
    holds=(),
):
    sid, order = f"s{n}", f"SO-{1000000 + n}"
    conn.execute(
        "insert into marts.fct_shipments values (%s, %s, %s, %s, %s, %s, %s, %s)",
        (sid, order, customer, shipped, delivered, promised, damage, lost),
    )
    conn.execute("insert into marts.fct_shipment_to_invoice values (%s, %s)", (sid, list(holds)))
    return order


@pytest.fixture
def world(clean_warehouse, monkeypatch, tmp_path):
    ledger = tmp_path / "crm_ledger.jsonl"
    clean_warehouse.execute(MARTS_DDL)
    with running_sandbox(seed=7, shipments=60, crm_ledger=ledger) as base:
        for name, value in sandbox_crm_connection(base).items():
            monkeypatch.setenv(name, value)
        yield clean_warehouse, ledger


def _ledger(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _created(path) -> Counter:
    return Counter(
        (x["object"], x["external_id"]) for x in _ledger(path) if x["operation"] == "created"
    )


def test_sends_changes_only_and_one_case_per_exception(world):
    conn, ledger = world
    late = _shipment(conn, 1, delivered="2025-01-04T00:00:00Z")  # delivered after the promise
    clean = _shipment(conn, 2, delivered="2025-01-02T00:00:00Z")
    held = _shipment(conn, 3, delivered="2025-01-02T00:00:00Z", holds=["credit_hold"])
    waiting = _shipment(conn, 4, shipped=None, promised="2025-02-01T00:00:00Z")
    first = sync.run_sync("run-1")
    assert first["rejected"] == 0
    created = _created(ledger)
    assert set(created) == {
        ("ShipmentStatus", late),
        ("ShipmentStatus", clean),
        ("ShipmentStatus", held),
        ("ShipmentStatus", waiting),
        ("Case", f"{late}:delay"),
        ("Case", f"{held}:billing_hold"),
    }
    statuses = {
        x["external_id"]: x["fields"]["status"]
        for x in _ledger(ledger)
        if x["object"] == "ShipmentStatus"
    }
    assert statuses[waiting] == "Order Received"
    assert statuses[late] == "Delivered"
    case = next(x for x in _ledger(ledger) if x["external_id"] == f"{held}:billing_hold")
    assert case["fields"]["evidence"] == {"hold_reasons": ["credit_hold"]}
    assert case["fields"]["type"] == "Billing Hold"
    assert case["fields"]["sla_due_at"] == "2025-01-05T00:00:00Z"  # delivered + 72 h

    lines = len(_ledger(ledger))
    again = sync.run_sync("run-2")
    assert again["sent"] == 0
    assert len(_ledger(ledger)) == lines

    # The hold is released and the waiting shipment ships: one case update, one status update.
    conn.execute(
        "update marts.fct_shipment_to_invoice set hold_reasons = '{}' where shipment_id = 's3'"
    )
    conn.execute("update marts.fct_shipments set shipped_at = %s where shipment_id = 's4'", (T0,))
    third = sync.run_sync("run-3")
    assert third["sent"] == 2
    new = _ledger(ledger)[lines:]
    assert [(x["external_id"], x["operation"], x["changed"]) for x in new] == [
        (waiting, "updated", {"status": "In Transit", "customer_visible_status": "in_transit"}),
        (f"{held}:billing_hold", "updated", {"status": "Exception Cleared"}),
    ]
    assert sum(_created(ledger).values()) == len(_created(ledger))  # nothing created twice
    assert sync.run_sync("run-4")["sent"] == 0


def test_crash_after_the_crm_accepted_a_batch_duplicates_nothing(world, monkeypatch):
    conn, ledger = world
    for n in range(1, 8):
        _shipment(conn, n, delivered="2025-01-04T00:00:00Z")  # each late: a status and a case
    from waybill.crm.client import CrmClient

    monkeypatch.setattr(CrmClient, "__post_init__", _small_batches(CrmClient.__post_init__))
    real = sync.record_batch
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed after the CRM accepted the batch")
        return real(*args, **kwargs)

    monkeypatch.setattr(sync, "record_batch", crash_on_second)
    with pytest.raises(RuntimeError, match="worker killed"):
        sync.run_sync("crash-1")
    accepted_before_rerun = len(_ledger(ledger))
    assert accepted_before_rerun == 6  # two batches of 3 reached the CRM, one was recorded
    monkeypatch.setattr(sync, "record_batch", real)
    rerun = sync.run_sync("crash-2")
    assert rerun["sent"] == 14 - 3  # the unrecorded batch is resent and absorbed
    created = _created(ledger)
    assert len(created) == 14
    assert set(created.values()) == {1}
    assert all(x["operation"] == "created" for x in _ledger(ledger))
    assert sync.run_sync("crash-3")["sent"] == 0


def _small_batches(original):
    def init(self):
        original(self)
        self.batch_size = 3

    return init


def test_a_record_the_crm_refuses_is_dead_lettered_with_its_message(world):
    conn, ledger = world
    good = _shipment(conn, 1, delivered="2025-01-02T00:00:00Z")
    _shipment(conn, 2, customer=None, delivered="2025-01-02T00:00:00Z")
    result = sync.run_sync("bad-1")
    assert result["rejected"] == 1
    assert result["acknowledged"] == 1
    (letter,) = conn.execute(
        "select source, entity, record_location, field, reason from ops.dead_letters"
    ).fetchall()
    assert letter[:4] == ("crm_sync", "ShipmentStatus", "SO-1000002", "customer_id")
    assert "customer_id is required" in letter[4]
    assert [x["external_id"] for x in _ledger(ledger)] == [good]
    assert sync.run_sync("bad-2")["sent"] == 0  # unchanged: not resent, not lettered twice
    assert conn.execute("select count(*) from ops.dead_letters").fetchone()[0] == 1


def test_the_crm_clock_decides_what_is_past_due():
    from waybill.crm.desired import exceptions_of

    row = {
        "delivered_at": None,
        "promised_delivery_at": datetime(2025, 1, 3, tzinfo=UTC),
        "shipped_at": datetime(2025, 1, 1, tzinfo=UTC),
        "is_lost": False,
        "has_damage": False,
        "hold_reasons": [],
        "damaged_at": None,
        "lost_at": None,
        "dispute_id": None,
    }
    assert exceptions_of(row, datetime(2025, 1, 2, tzinfo=UTC), 48) == {}
    assert set(exceptions_of(row, datetime(2025, 1, 4, tzinfo=UTC), 48)) == {"delay"}
    delivered = {
        **row,
        "delivered_at": datetime(2025, 1, 2, tzinfo=UTC),
        "hold_reasons": ["missing_pod"],
    }
    assert exceptions_of(delivered, datetime(2025, 1, 3, 23, tzinfo=UTC), 48) == {}
    assert set(exceptions_of(delivered, datetime(2025, 1, 4, tzinfo=UTC), 48)) == {"missing_pod"}
