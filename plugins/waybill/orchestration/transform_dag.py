"""Build ``transform_warehouse``: the dbt project as a cosmos task group, scheduled on the raw Assets.

cosmos's WATCHER mode: one producer task runs a single ``dbt build`` of the whole project (dbt's
own threads, one start-up) and publishes each node's result as it finishes; every model, seed and
snapshot keeps its own Airflow task, a sensor that succeeds or fails with its node, and each
tested model a ``<model>.test`` task that does the same with the model's tests (AFTER_EACH). A
failing test fails the build (so the marts Asset, which only the build's success updates, does
not trigger billing), its test task and everything dbt skipped below it. ``ExecutionMode.LOCAL`` (one ``dbt build`` process
per node) stays selectable for comparison (``benchmarks/bench_transform_dag.py``).
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING

from airflow.sdk import DAG, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from waybill.orchestration.assets import MARTS_BILLING, all_raw_assets
from waybill.orchestration.dbt_watch import start_in_triggerer
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk.definitions.asset import BaseAsset

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def migrate_warehouse(context: object = None) -> None:
    """Migrate the warehouse if needed (roles, the ops tables the models read): the dbt build's
    ``pre_execute`` (WATCHER) or the ``prepare_warehouse`` task (LOCAL)."""
    from waybill import roles

    roles.ensure_migrated(role="transformer")


def build_transform_dag(
    doc_md: str | None = None, execution_mode: ExecutionMode = ExecutionMode.WATCHER
) -> DAG:
    """Return the ``transform_warehouse`` DAG (reads the dbt manifest; never runs dbt at parse time).

    ``execution_mode`` WATCHER (default): one ``dbt build`` task, which migrates the warehouse
    first and, only when the whole build and every test passed, updates the marts Asset (which
    triggers billing); a task per node resolves in the triggerer. LOCAL (kept for the benchmark's
    comparison): ``prepare_warehouse``, then a ``dbt build`` task per node (the node and its
    tests), then ``publish_marts`` updates the Asset.
    """
    watcher = execution_mode == ExecutionMode.WATCHER
    # Typed as the base class: `a | b` of two Assets is an AssetAny, not an Asset.
    raw_assets: Sequence[BaseAsset] = all_raw_assets()
    with DAG(
        dag_id="transform_warehouse",
        description="Build staging, intermediate and marts with dbt (cosmos)",
        schedule=reduce(lambda a, b: a | b, raw_assets) if raw_assets else None,
        tags=["transform", "dbt"],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:
        dbt = DbtTaskGroup(
            group_id="dbt",
            project_config=ProjectConfig(
                dbt_project_path=DBT_PROJECT_DIR,
                manifest_path=MANIFEST,
                install_dbt_deps=False,
            ),
            profile_config=ProfileConfig(
                profile_name="waybill",
                target_name="warehouse",
                profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
            ),
            execution_config=ExecutionConfig(
                execution_mode=execution_mode,
                dbt_executable_path=str(DBT_EXECUTABLE),
                invocation_mode=InvocationMode.DBT_RUNNER,
                # The producer (the one dbt build): its own task starts are the run's fixed cost.
                setup_operator_args=(
                    {"pre_execute": migrate_warehouse, "outlets": [MARTS_BILLING]}
                    if watcher
                    else None
                ),
            ),
            render_config=RenderConfig(
                load_method=LoadMode.DBT_MANIFEST,
                # Tests on raw sources stay out of the pipeline's build (as they were when each
                # node was its own task): a source a deployment does not configure (a CSV-only
                # WMS) has no raw table, and its tests would fail the build.
                exclude=["source:*"],
                # WATCHER has no per-node build operator: tests get a task per model.
                test_behavior=TestBehavior.AFTER_EACH if watcher else TestBehavior.BUILD,
                emit_datasets=False,  # Assets are ours: the marts one billing uses
                should_detach_multiple_parents_tests=True,
            ),
            operator_args={"install_deps": False},
        )
        if watcher:
            start_in_triggerer(dbt)
            return dag

        @task
        def prepare_warehouse() -> str:
            """Migrate the warehouse if needed."""
            migrate_warehouse()
            return "warehouse migrated"

        @task(outlets=[MARTS_BILLING])
        def publish_marts() -> str:
            """Mark the marts as updated, which triggers billing."""
            return "marts built"

        prepare_warehouse() >> dbt >> publish_marts()
    return dag
