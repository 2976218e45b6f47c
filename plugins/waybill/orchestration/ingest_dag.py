"""Build the ingestion DAG of one source system from ``include/sources.yaml``.

One DAG per system (``ingest_erp``, ``ingest_wms``, ``ingest_tms``, ``ingest_carriers``); one
mapped task instance per (source, entity), so a failing entity or carrier fails alone and the
others still land. Each run emits the system's raw Assets, which trigger the transform.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from airflow.sdk import DAG, AssetOrTimeSchedule, CronTriggerTimetable, task

from waybill.health.alerts import ingest_task_failed
from waybill.load.schema import raw_table_name
from waybill.orchestration.assets import system_assets
from waybill.orchestration.defaults import DAG_KWARGS
from waybill.orchestration.landed import pushed_asset
from waybill.sources import system_sources

# A partner that hangs past this fails its own task; the retries of DEFAULT_ARGS then apply.
TASK_TIMEOUT = timedelta(minutes=30)


def build_ingest_dag(system: str, doc_md: str | None = None) -> DAG:
    """Return the ``ingest_<system>`` DAG: reads only the YAML registry at parse time.

    The schedule is the most frequent of the system's sources (the first one configured), or,
    for a system whose carriers push webhooks, that cron or the system's pushed Asset
    (:mod:`waybill.orchestration.landed`), whichever comes first.
    Raises ``ConfigError`` when no source belongs to ``system``.
    """
    sources = system_sources(system)
    cron = next((s.schedule for s in sources if s.schedule), None)
    # Webhook pushes are normalised first: they are the freshest channel, so an event pushed
    # and then pulled keeps the webhook as its channel. Lookups (per-shipment Track API details)
    # read what the feeds landed, so they run after them.
    pushed = [
        f"{s.name}/{name}"
        for s in sources
        for name, entity in sorted(s.entities.items())
        if entity.kind == "webhook_events"
    ]
    targets = [
        f"{s.name}/{name}"
        for s in sources
        for name, entity in sorted(s.entities.items())
        if entity.kind not in ("tracking_lookup", "webhook_events")
    ]
    lookups = [
        f"{s.name}/{name}"
        for s in sources
        for name, entity in sorted(s.entities.items())
        if entity.kind == "tracking_lookup"
    ]
    description = "; ".join(s.description for s in sources if s.description)
    schedule: Any = cron
    if pushed:
        # Event-driven: the receiver's stores wake this DAG at once; the cron stays the backstop.
        tables = [raw_table_name(*target.split("/", 1)) for target in pushed]
        woken = pushed_asset(system, tables)
        schedule = (
            AssetOrTimeSchedule(timetable=CronTriggerTimetable(cron, timezone="UTC"), assets=woken)
            if cron
            else [woken]
        )
    with DAG(
        dag_id=f"ingest_{system}",
        description=(description or f"Ingest {system} into raw")[:200],
        schedule=schedule,
        tags=["ingest", system],
        doc_md=doc_md,
        **DAG_KWARGS,
    ) as dag:
        # A partner that fails or hangs past TASK_TIMEOUT: the callback logs an error naming the
        # source and entity that is late (Airflow 3.3's DeadlineAlert breaks dag.test(), which
        # the demo and the tests use, so a task callback does it).
        @task(
            outlets=system_assets(sources),
            execution_timeout=TASK_TIMEOUT,
            on_failure_callback=partial(ingest_task_failed, [s.name for s in sources]),
        )
        def ingest(target: str) -> dict:
            """Pull one entity of one source since its watermark and land it in raw."""
            from airflow.sdk import get_current_context

            from waybill.ingest import ingest_entity

            source_name, entity = target.split("/", 1)
            run_id = get_current_context()["run_id"]
            return ingest_entity(source_name, entity, run_id=run_id)

        if pushed:
            # A failed push normalisation must not keep the feeds from landing.
            feeds = ingest.override(trigger_rule="all_done").expand(target=targets)
            ingest.override(task_id="normalise_pushes").expand(target=pushed) >> feeds
        else:
            feeds = ingest.expand(target=targets)
        if lookups:
            feeds >> ingest.override(task_id="look_up").expand(target=lookups)
    return dag
