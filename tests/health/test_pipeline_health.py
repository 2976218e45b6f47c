"""Pipeline health: freshness on every source (or a recorded reason), ``pipeline_health`` writes a
row per source table to ``ops.source_health`` and names a stale source, a failing ingest task
names its source."""

from __future__ import annotations

import json

import pytest

from waybill import runtime, warehouse
from waybill.health.freshness import SourceFreshness
from waybill.health.store import write_source_health
from waybill.load.copy import load_batch
from waybill.load.records import DeadLetter, Record


def _manifest_sources() -> dict:
    manifest = runtime.DBT_PROJECT_DIR / "target" / "manifest.json"
    return json.loads(manifest.read_text())["sources"]


def test_every_source_table_has_freshness_or_a_recorded_reason():
    for unique_id, node in _manifest_sources().items():
        freshness = node.get("freshness") or {}
        measured = (freshness.get("warn_after") or {}).get("count") and (
            freshness.get("error_after") or {}
        ).get("count")
        if measured:
            assert node.get("loaded_at_field") or node.get("loaded_at_query"), unique_id
        else:
            reason = {**node.get("source_meta", {}), **node.get("meta", {})}.get("freshness_exempt")
            assert reason and len(reason) > 20, f"{unique_id}: no freshness and no reason"


def _land(source: str, entity: str, keys: int, *, run_id: str, dead: int = 0) -> None:
    items: list = [Record(f"K-{i}", {"n": i}, f"item {i}") for i in range(keys)]
    items += [DeadLetter(f"item {keys + i}", "malformed on purpose", "n") for i in range(dead)]
    with warehouse.connect(role="loader") as conn:
        load_batch(conn, source, entity, items, run_id=run_id)


@pytest.fixture
def health_warehouse(clean_warehouse):
    """ERP orders landed 30 h ago (stale) with a dead letter, TMS shipments landed now (fresh)."""
    _land("erp", "orders", 4, run_id="run-old", dead=1)
    _land("tms", "shipments", 3, run_id="run-new")
    clean_warehouse.execute("update raw.erp__orders set loaded_at = now() - interval '30 hours'")
    return clean_warehouse


def _health(conn) -> dict[str, dict]:
    cursor = conn.execute("select * from ops.source_health")
    names = [c.name for c in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {f"{r['source_name']}.{r['table_name']}": r for r in rows}


@pytest.mark.e2e
def test_pipeline_health_names_a_stale_source_and_has_a_row_per_source(
    health_warehouse, airflow_db
):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from waybill.orchestration.runner import failed_tasks, run_dag

    dag_run = run_dag("pipeline_health", check=False, retries=False)

    assert dag_run.state == "failed"
    assert failed_tasks(dag_run) == ["alert_late_sources"]
    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id,
                dag_ids="pipeline_health",
                task_ids="check_sources",
                key="return_value",
            )
        ).first()
        checked = XComModel.deserialize_value(row)
    late = "\n".join(checked["late"])
    assert "erp.orders (raw.erp__orders, loaded by ingest_erp): last loaded 30." in late
    assert "tms.shipments" not in late

    health = _health(health_warehouse)
    assert set(health) == {f"{n['source_name']}.{n['name']}" for n in _manifest_sources().values()}
    orders, shipments = health["erp.orders"], health["tms.shipments"]
    assert orders["freshness_status"] == "error"
    assert 29.9 < float(orders["hours_since_loaded"]) < 30.5
    assert (orders["warn_after_hours"], orders["error_after_hours"]) == (6, 24)
    assert orders["ingest_dag_id"] == "ingest_erp"
    assert (orders["records_read_24h"], orders["dead_letters_24h"]) == (5, 1)
    assert float(orders["dead_letter_rate"]) == 0.2
    assert orders["dead_letters_total"] == 1 and orders["dead_letter_lag_hours"] is not None
    assert shipments["freshness_status"] == "pass"
    assert shipments["dead_letter_rate"] == 0
    # Quiet reference tables: fresh when their entity loaded lately, new rows or none.
    assert health["erp.customers"]["freshness_measure"] == "last successful load"
    exempt = health["wms_edi.ship_notices"]
    assert exempt["freshness_status"] == "exempt"
    assert "optional source" in exempt["freshness_exempt_reason"]


def test_last_successful_run_is_the_newest_run_airflow_reports_successful(health_warehouse):
    _land("tms", "shipments", 2, run_id="run-newer-failed")
    rows = [
        SourceFreshness("tms", "shipments", "raw.tms__shipments", "ingest_tms", "pass"),
        SourceFreshness("erp", "orders", "raw.erp__orders", "ingest_erp", "error"),
    ]
    states = {("ingest_tms", "run-new"): "success", ("ingest_tms", "run-newer-failed"): "failed"}

    written = write_source_health(rows, lambda dag_id, run_id: states.get((dag_id, run_id)))

    assert written == 2
    health = _health(health_warehouse)
    assert health["tms.shipments"]["last_successful_run_id"] == "run-new"
    assert health["tms.shipments"]["last_successful_run_at"] is not None
    assert health["erp.orders"]["last_successful_run_id"] is None  # Airflow knows no such run


def test_a_failing_ingest_task_names_its_late_source():
    from types import SimpleNamespace

    from waybill.orchestration.runner import dag_bag

    task = dag_bag().dags["ingest_carriers"].get_task("ingest")
    callback = task.on_failure_callback
    callback = callback[0] if isinstance(callback, list) else callback
    assert {"parcelco", "swiftex", "ridgeline"} <= set(callback.args[0])
    context = {
        "task": SimpleNamespace(op_kwargs={"target": "parcelco/tracking_events"}),
        "ti": SimpleNamespace(dag_id="ingest_carriers", task_id="ingest", map_index=2),
        "exception": TimeoutError("Timeout after 1800 s"),
    }

    message = callback(context)

    assert message == (
        "late source parcelco entity tracking_events: ingest_carriers.ingest[2] failed"
        " (TimeoutError: Timeout after 1800 s)"
    )
    unnamed = callback({"ti": None, "exception": None})
    assert unnamed.startswith("late source parcelco, swiftex") or "parcelco" in unnamed
