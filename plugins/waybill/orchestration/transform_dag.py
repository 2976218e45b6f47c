"""Build ``transform_warehouse``: the dbt project as a cosmos task group, scheduled on the raw Assets.

Each dbt node is one Airflow task running ``dbt build`` on that node, so a model's tests run in
the same task right after it (a failing test fails its model's task and stops what depends on
it) and the DAG has one task per node instead of two.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING

from airflow.sdk import DAG, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior

from waybill.orchestration.assets import MARTS_BILLING, all_raw_assets
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk.definitions.asset import BaseAsset

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def build_transform_dag(doc_md: str | None = None) -> DAG:
    """Return the ``transform_warehouse`` DAG (reads the dbt manifest; never runs dbt at parse time)."""
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
                dbt_executable_path=str(DBT_EXECUTABLE),
                invocation_mode=InvocationMode.DBT_RUNNER,
            ),
            render_config=RenderConfig(
                load_method=LoadMode.DBT_MANIFEST,
                test_behavior=TestBehavior.BUILD,
                emit_datasets=False,  # Assets are ours: publish_marts emits the one billing uses
                should_detach_multiple_parents_tests=True,
            ),
            operator_args={"install_deps": False},
        )

        @task
        def prepare_warehouse() -> str:
            """Migrate the warehouse if needed (roles, the ops tables the models read)."""
            from waybill import roles

            roles.ensure_migrated(role="transformer")
            return "warehouse migrated"

        @task(outlets=[MARTS_BILLING])
        def publish_marts() -> str:
            """Mark the marts as updated, which triggers billing."""
            return "marts built"

        prepare_warehouse() >> dbt >> publish_marts()
    return dag
