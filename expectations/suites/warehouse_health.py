"""``warehouse_health``: is the warehouse fit to bill from? Freshness, volume, dead letters, identity.

Validated against ``ops.load_batches`` (one row per loader batch into ``raw``), joining
``ops.dead_letters`` and the identity cross-reference in ``intermediate``. A source stale past its
SLA is critical at batch level (nothing posts); the rest are warnings for the report.
Thresholds are parameters of :func:`build_suite`, not constants buried in SQL.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.rules import SqlRule

SUITE_NAME = "warehouse_health"
SCHEMA = "ops"
TABLE = "load_batches"
IDENTITY_TABLE = "intermediate.int_shipment_identities_resolved"
DEFAULT_SLA_HOURS = 24.0
VOLUME_MIN_RATIO = 0.5
TRAILING_BATCHES = 7
DEAD_LETTER_MAX_RATE = 0.02
UNMATCHED_MAX_RATE = 0.05


def _sla_values(sla_hours: dict[str, float]) -> str:
    if not sla_hours:
        return "select null::text as source, null::float as sla_hours where false"
    rows = ", ".join(
        f"('{source.replace(chr(39), '')}', {float(hours)})"
        for source, hours in sorted(sla_hours.items())
    )
    return f"select * from (values {rows}) as sla (source, sla_hours)"


def rules(
    sla_hours: dict[str, float] | None = None,
    default_sla_hours: float = DEFAULT_SLA_HOURS,
    volume_min_ratio: float = VOLUME_MIN_RATIO,
    dead_letter_max_rate: float = DEAD_LETTER_MAX_RATE,
    unmatched_max_rate: float = UNMATCHED_MAX_RATE,
    identity_table: str = IDENTITY_TABLE,
) -> tuple[SqlRule, ...]:
    """Return the health rules with their thresholds filled in (``{schema}`` is the ops schema)."""
    return (
        SqlRule(
            "source_stale",
            "critical",
            "batch",
            f"Every source loaded within its SLA (default {default_sla_hours:g} h).",
            f"""
            with sla as ({_sla_values(sla_hours or {})}),
            last_load as (
                select source, max(finished_at) as last_loaded_at
                from {{batch}}
                where status = 'succeeded'
                group by source
            )
            select
                last_load.source,
                'last load ' || round(
                    extract(epoch from now() - last_load.last_loaded_at) / 3600, 1
                )::text || ' h ago, SLA '
                || coalesce(sla.sla_hours, {default_sla_hours})::text || ' h'
                    as observed_value
            from last_load
            left join sla on last_load.source = sla.source
            where last_load.last_loaded_at < now() - make_interval(
                secs => coalesce(sla.sla_hours, {default_sla_hours}) * 3600
            )
            """,
        ),
        SqlRule(
            "volume_below_trailing_average",
            "warning",
            "batch",
            f"Each entity's latest batch reads at least {volume_min_ratio:g} x its trailing"
            f" average of {TRAILING_BATCHES} batches.",
            f"""
            with ranked as (
                select
                    source,
                    entity,
                    records_read,
                    row_number() over (
                        partition by source, entity order by started_at desc
                    ) as recency
                from {{batch}}
                where status = 'succeeded'
            ),
            compared as (
                select
                    source,
                    entity,
                    max(records_read) filter (where recency = 1) as latest,
                    avg(records_read) filter (
                        where recency between 2 and {TRAILING_BATCHES + 1}
                    ) as trailing_average
                from ranked
                group by source, entity
            )
            select
                source || '.' || entity as source,
                latest::text || ' read vs trailing avg ' || round(trailing_average, 1)::text
                    as observed_value
            from compared
            where trailing_average > 0 and latest < {volume_min_ratio} * trailing_average
            """,
        ),
        SqlRule(
            "dead_letter_rate",
            "warning",
            "batch",
            f"At most {dead_letter_max_rate:.0%} of the records read per source are dead-lettered.",
            f"""
            select
                source,
                round(100.0 * sum(records_dead_lettered) / sum(records_read), 2)::text
                || ' % dead-lettered' as observed_value
            from {{batch}}
            where started_at > now() - interval '1 day'
            group by source
            having
                sum(records_read) > 0
                and sum(records_dead_lettered)::float / sum(records_read)
                > {dead_letter_max_rate}
            """,
        ),
        SqlRule(
            "unmatched_identity_rate",
            "warning",
            "batch",
            f"At most {unmatched_max_rate:.0%} of shipments miss a cross-reference between systems.",
            f"""
            select
                'identity' as source,
                round(100.0 * avg(
                    case when match_status in ('matched', 'awaiting_shipment')
                        then 0 else 1 end
                ), 2)::text || ' % unmatched' as observed_value
            from {identity_table}
            having avg(
                case when match_status in ('matched', 'awaiting_shipment')
                    then 0 else 1 end
            ) > {unmatched_max_rate}
            """,
        ),
    )


def build_suite(schema: str = SCHEMA, **thresholds) -> gx.ExpectationSuite:
    """Return the suite; ``thresholds`` are the keyword arguments of :func:`rules`."""
    return gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=[rule.expectation(schema) for rule in rules(**thresholds)],
    )
