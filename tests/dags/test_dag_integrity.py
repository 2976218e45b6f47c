"""Every DAG file imports through Airflow's DagBag and follows the house rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PARSE_TIMES, ROOT
from waybill.orchestration.runner import dag_bag

DAG_FILES = sorted((ROOT / "dags").rglob("*.py"))


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    loaded = DagBag(dag_folder=str(ROOT / "dags"))
    for stat in loaded.dagbag_stats:
        PARSE_TIMES[stat.file.lstrip("/")] = stat.duration.total_seconds()
    return loaded


def test_every_dag_file_imports_without_errors(bag) -> None:
    assert bag.import_errors == {}
    assert len(bag.dagbag_stats) == len(DAG_FILES)
    assert all(stat.dag_num == 1 for stat in bag.dagbag_stats), "one DAG per file"


def test_dag_id_is_the_file_stem(bag) -> None:
    for dag in bag.dags.values():
        assert dag.dag_id == dag.fileloc.rsplit("/", 1)[-1].removesuffix(".py")


@pytest.mark.parametrize(
    "dag_id", ["ingest_erp", "transform_warehouse", "post_billing", "ingest_crm", "sync_crm"]
)
def test_expected_dags_exist(bag, dag_id: str) -> None:
    assert dag_id in bag.dag_ids


def test_every_dag_has_owner_tags_retries_and_no_surprise_backfill(bag) -> None:
    for dag in bag.dags.values():
        assert dag.tags, f"{dag.dag_id} has no tags"
        assert dag.catchup is False, f"{dag.dag_id} would backfill"
        assert dag.start_date is not None, f"{dag.dag_id} has no fixed start_date"
        assert dag.doc_md, f"{dag.dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.owner == "waybill", f"{dag.dag_id}.{task.task_id} owner {task.owner}"
            assert task.retries is not None
        ingest_or_transform = [t for t in dag.tasks if not t.task_id.startswith("gate_")]
        assert all(t.retries >= 1 for t in ingest_or_transform), f"{dag.dag_id} lacks retries"
        assert all(t.retry_delay >= timedelta(seconds=30) for t in dag.tasks)


def test_dags_are_linked_by_assets(bag) -> None:
    ingest = bag.dags["ingest_erp"]
    transform = bag.dags["transform_warehouse"]
    billing = bag.dags["post_billing"]
    produced = {o.name for t in ingest.tasks for o in t.outlets}
    assert produced, "ingest_erp emits no Asset"
    assert produced <= _asset_names(transform.timetable.asset_condition)
    published = {o.name for t in transform.tasks for o in t.outlets}
    assert _asset_names(billing.timetable.asset_condition) <= published
    assert _asset_names(bag.dags["sync_crm"].timetable.asset_condition) <= published


def test_runner_uses_the_same_dags(bag) -> None:
    assert sorted(dag_bag().dag_ids) == sorted(bag.dag_ids)


def _asset_names(condition) -> set[str]:
    """Names of the Assets in a schedule condition (an Asset, or AssetAny/AssetAll of them)."""
    if hasattr(condition, "objects"):
        return set().union(*(_asset_names(c) for c in condition.objects))
    return {condition.name}


def test_transform_runs_one_dbt_build_and_keeps_a_task_per_node(bag) -> None:
    from cosmos.operators._watcher.base import BaseConsumerSensor

    transform = bag.dags["transform_warehouse"]
    producers = [t for t in transform.tasks if t.task_id.endswith("dbt_producer_watcher")]
    assert len(producers) == 1, "one dbt build (cosmos WATCHER producer)"
    consumers = [t for t in transform.tasks if isinstance(t, BaseConsumerSensor)]
    assert {t.task_id for t in consumers} >= {"dbt.fct_shipment_to_invoice.run"}
    assert any(t.task_id.endswith(".test") for t in consumers), "tests keep their own tasks"
    for task in consumers:  # resolved in the triggerer: no worker process per node
        assert task.start_from_trigger, task.task_id
        assert task.start_trigger_args.trigger_cls.endswith("NodeResultTrigger")
    # Only the whole build's success (every test passed) updates the Asset that triggers billing.
    (producer,) = producers
    assert [o.name for o in producer.outlets] == ["warehouse.marts.fct_invoice_lines"]
    assert [t for t in transform.tasks if t.outlets] == [producer]


def test_webhook_pushes_wake_ingest_carriers_besides_its_cron(bag) -> None:
    condition = bag.dags["ingest_carriers"].timetable.asset_condition
    assert _asset_names(condition) == {"webhooks.carriers.pushed"}
    assert bag.dags["ingest_carriers"].timetable.timetable.expression == "*/15 * * * *"
    assert bag.dags["ingest_erp"].schedule == "@hourly", "no pushes: the cron only"
