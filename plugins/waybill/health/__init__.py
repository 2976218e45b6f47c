"""Pipeline health: dbt source freshness per source table, last successful ingest run and
dead-letter rate and lag, written to ``ops.source_health``; alerts that name the late source."""
