"""``warehouse_health`` against small good and bad load histories in the test warehouse."""

from __future__ import annotations

from expectations.checkpoints import checkpoint, validation
from expectations.suites import warehouse_health
from waybill import warehouse
from waybill.quality import outcomes


def _history(schema: str, rows: list[tuple], unmatched: int) -> None:
    """Load batches ``(source, entity, hours_ago, read, dead)`` and 20 shipments' match status."""
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            f"create table {schema}.load_batches (like ops.load_batches including defaults)"
        )
        for source, entity, hours_ago, read, dead in rows:
            conn.execute(
                f"insert into {schema}.load_batches (batch_id, source, entity, started_at,"
                " finished_at, status, records_read, records_dead_lettered) values"
                " (gen_random_uuid(), %s, %s, now() - make_interval(secs => %s * 3600),"
                " now() - make_interval(secs => %s * 3600), 'succeeded', %s, %s)",
                (source, entity, hours_ago, hours_ago, read, dead),
            )
        conn.execute(f"create table {schema}.identities (match_status text)")
        conn.execute(
            f"insert into {schema}.identities select case when i <= %s"
            " then 'missing_tms_shipment' else 'matched' end from generate_series(1, 20) as i",
            (unmatched,),
        )


def _run(gx_context, schema, tmp_path) -> dict[str, outcomes.Outcome]:
    suite = warehouse_health.build_suite(
        schema=schema, sla_hours={"wms": 6}, identity_table=f"{schema}.identities"
    )
    summary = tmp_path / "gate.json"
    checkpoint(
        gx_context, "test_health", [validation(gx_context, suite, schema, "load_batches")], summary
    ).run()
    return {o.rule: o for o in outcomes.read(summary)}


def test_fresh_steady_clean_history_passes(gx_context, scratch_schema, tmp_path):
    rows = [("erp", "orders", h, 100, 0) for h in (10, 8, 6, 4, 2)]
    rows += [("wms", "confirmations", 1, 50, 0)]
    _history(scratch_schema, rows, unmatched=0)
    found = _run(gx_context, scratch_schema, tmp_path)
    assert {rule: o.success for rule, o in found.items()} == {
        "source_stale": True,
        "volume_below_trailing_average": True,
        "dead_letter_rate": True,
        "unmatched_identity_rate": True,
    }


def test_stale_source_stops_and_the_rest_warn(gx_context, scratch_schema, tmp_path):
    rows = [("erp", "orders", h, 100, 0) for h in (10, 8, 6, 4)]
    rows += [("erp", "orders", 2, 20, 20)]  # volume collapse with many dead letters
    rows += [("wms", "confirmations", 7, 50, 0)]  # past its 6 h SLA
    _history(scratch_schema, rows, unmatched=3)
    found = _run(gx_context, scratch_schema, tmp_path)
    assert {rule: o.unexpected_count for rule, o in found.items()} == {
        "source_stale": 1,
        "volume_below_trailing_average": 1,
        "dead_letter_rate": 1,
        "unmatched_identity_rate": 1,
    }
    assert found["source_stale"].examples[0]["source"] == "wms"
    assert [o.severity for r, o in sorted(found.items()) if r != "source_stale"] == ["warning"] * 3
    message = outcomes.stop_message(list(found.values()))
    assert message.startswith("critical expectation failed, nothing posted this run:")
    assert "warehouse_health.source_stale (unexpected_rows_expectation) failed, 1 unexpected" in (
        message
    )
