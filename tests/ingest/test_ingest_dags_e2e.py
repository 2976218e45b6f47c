"""Every ingestion DAG through Airflow against the sandbox with faults on: nothing lost, nothing twice.

At ``--faults 0.1`` the sandbox answers 429/5xx/slow and serves malformed records; for each entity,
raw rows + dead letters must equal what the sandbox generated, and the dead letters must be exactly
the records the sandbox made malformed (the truth lists them). A second run of every DAG adds nothing.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import pytest

from waybill import warehouse
from waybill.demo import sandbox_connections
from waybill.orchestration.runner import run_dag

pytestmark = pytest.mark.e2e

SEED, SHIPMENTS, FAULTS = 11, 60, 0.1
TOKEN = "ingest-e2e-token"
DAGS = ("ingest_erp", "ingest_wms", "ingest_tms", "ingest_carriers")

# truth record_counts name -> raw table
ENTITY_COUNTS = {
    "erp.orders": "erp__orders",
    "erp.customers": "erp__customers",
    "erp.contracts": "erp__contracts",
    "erp.rate_cards": "erp__rate_cards",
    "erp.credit_holds": "erp__credit_holds",
    "erp.inventory": "erp__inventory",
    "wms.warehouses": "wms__warehouses",
    "wms.shipment_confirmations": "wms__shipment_confirmations",
    "wms.inventory_adjustments": "wms__inventory_adjustments",
    "wms.inventory": "wms__inventory",
    "tms.loads": "tms__loads",
    "tms.shipments": "tms__shipments",
    "tms.rated_charges": "tms__rated_charges",
    "carriers.parcelco.events": "parcelco__tracking_events",
    "carriers.swiftex.events": "swiftex__tracking_events",
    "carriers.ridgeline.pods": "ridgeline__pods",
    "carriers.ridgeline.214_transaction_sets": "ridgeline__shipment_status",
    "carriers.ridgeline.210_transaction_sets": "ridgeline__freight_invoices",
}

# truth malformed (system, first path part) -> raw table, and where the record id sits in the path
MALFORMED_TABLES = {
    ("erp", "orders"): ("erp__orders", 1),
    ("wms", "shipment-confirmations"): ("wms__shipment_confirmations", 1),
    ("wms", "inventory-adjustments"): ("wms__inventory_adjustments", 1),
    ("tms", "loads"): ("tms__loads", 1),
    ("tms", "shipments"): ("tms__shipments", 1),
    ("tms", "rated-charges"): ("tms__rated_charges", 1),
    ("carriers", "parcelco"): ("parcelco__tracking_events", 2),
    ("carriers", "swiftex"): ("swiftex__tracking_events", 2),
    ("carriers", "ridgeline"): ("ridgeline__pods", 2),
}


@pytest.fixture
def faulty_sandbox(monkeypatch, tmp_path):
    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.truth import write_truth
    from waybill_sandbox.world import World

    buffer = io.StringIO()
    write_truth(World(SEED, SHIPMENTS), buffer, FaultConfig.parse(FAULTS))
    truth = json.loads(buffer.getvalue())
    inbound = tmp_path / "inbound"
    with running_sandbox(
        seed=SEED, shipments=SHIPMENTS, faults=FAULTS, erp_token=TOKEN, inbound=inbound
    ) as base_url:
        for name, value in sandbox_connections(base_url, TOKEN).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(inbound))
        yield truth, inbound


def _rows(query: str) -> list[tuple]:
    with warehouse.connect() as conn:
        return conn.execute(query).fetchall()


def _raw_counts() -> dict[str, int]:
    counts = {}
    for (table,) in _rows(
        "select table_name from information_schema.tables where table_schema = 'raw'"
    ):
        counts[table] = _rows(f'select count(*) from raw."{table}"')[0][0]
    return counts


def _dead_letters() -> list[tuple[str, str, str, str | None]]:
    return _rows(
        "select source || '__' || entity, record_location, reason, field from ops.dead_letters"
    )


def test_every_ingest_dag_lands_every_record_once(clean_warehouse, airflow_db, faulty_sandbox):
    truth, inbound = faulty_sandbox
    assert (
        truth["truncated_files"] == []
    )  # this seed's files are whole; truncation: tests/connectors

    for dag_id in DAGS:
        assert run_dag(dag_id, retries=False).state == "success"

    raw = _raw_counts()
    dead = _dead_letters()
    dead_by_table = Counter(table for table, *_ in dead)
    for name, table in ENTITY_COUNTS.items():
        expected = truth["record_counts"][name]
        assert raw.get(table, 0) + dead_by_table[table] == expected, (name, raw.get(table))

    # Dead letters from the APIs are exactly the malformed records the truth lists.
    expected_ids: Counter = Counter()
    for entry in truth["malformed"]:
        parts = entry["record"].split("/")
        table, index = MALFORMED_TABLES[(entry["system"], parts[0])]
        expected_ids[(table, parts[index])] += 1
    api_dead = [row for row in dead if not row[0].startswith("wms_files")]
    found_ids = Counter()
    for table, location, reason, _field in api_dead:
        match = re.search(r"\(\w+=([^)]+)\)$", location)
        assert match and "malformed" in reason, (table, location, reason)
        found_ids[(table, match.group(1))] += 1
    assert found_ids == expected_ids

    # CSV drops: every data row is in raw or dead-lettered; the bad rows are exactly the truth's.
    csv_landed = raw["wms_files__shipment_confirmation_lines"]
    csv_landed += raw["wms_files__inventory_adjustments"]
    csv_dead = [row for row in dead if row[0].startswith("wms_files")]
    assert csv_landed + len(csv_dead) == truth["record_counts"]["wms.csv_rows"]
    bad = {(row["file"].split("/")[-1], row["line"]) for row in truth["csv_bad_rows"]}
    assert {_file_line(location) for _, location, _, _ in csv_dead} == bad

    # Files are moved, never deleted; a 997 went out for every X12 interchange.
    x12_archived = list((inbound / "ridgeline").glob("*/archive/*.edi"))
    assert len(x12_archived) == truth["record_counts"]["carriers.ridgeline.files"]
    assert not list((inbound / "ridgeline").glob("21[04]/*.edi"))
    acks = list((inbound / "ridgeline" / "outbound").glob("997_*.edi"))
    assert len(acks) == truth["record_counts"]["carriers.ridgeline.files"]
    rejected = {p.name for p in (inbound / "wms" / "rejected").glob("*.csv")}
    assert rejected == {name for name, _ in bad}

    # Again, for the same interval: nothing new anywhere.
    for dag_id in DAGS:
        assert run_dag(dag_id, retries=False).state == "success"
    assert _raw_counts() == raw
    assert len(_dead_letters()) == len(dead)


def _file_line(location: str) -> tuple[str, int]:
    name, _, line = location.partition(" line ")
    return name, int(line)
