"""The gate operator (GX provider operator + severity) on small scratch tables."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest

from expectations.checkpoints import checkpoint, validation
from expectations.suites import billing_ready
from tests.expectations.billing_tables import clean_invoices, create, line
from tests.expectations.conftest import scratch_schema  # noqa: F401 - fixture
from waybill import warehouse
from waybill.quality.context import run_data_context
from waybill.quality.gate_operator import GateFailed, QualityGateOperator
from waybill.quality.paths import gate_summary_path


@pytest.fixture
def run_id(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYBILL_BUILD_DIR", str(tmp_path / "build"))
    value = f"gate-test-{uuid.uuid4().hex[:8]}"
    yield value
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("delete from ops.billing_runs where run_id = %s", (value,))


def _operator(schema: str, run_id: str) -> QualityGateOperator:
    def configure(context):
        suite = billing_ready.build_suite(schema=schema)
        return checkpoint(
            context,
            "test_gate",
            [validation(context, suite, schema, "fct_invoice_lines")],
            gate_summary_path(run_id),
        )

    return QualityGateOperator(
        task_id="gate_test",
        configure_checkpoint=configure,
        configure_file_data_context=lambda: run_data_context(run_id),
    )


def _execute(operator: QualityGateOperator, run_id: str):
    return operator.execute({"run_id": run_id, "ti": mock.Mock(), "params": {}})


def _gate_row(run_id: str) -> tuple:
    with warehouse.connect() as conn:
        return conn.execute(
            "select gate_passed, gate_message from ops.billing_runs where run_id = %s", (run_id,)
        ).fetchone()


def test_row_failures_pass_the_gate_and_are_named(scratch_schema, run_id):  # noqa: F811
    create(scratch_schema, [*clean_invoices(2), line("INV-NEG", 1, "-1.00")])

    summary = _execute(_operator(scratch_schema, run_id), run_id)

    assert summary["failed_row_rules"] == ["negative_amount"]
    assert _gate_row(run_id) == (True, None)
    docs = gate_summary_path(run_id).parent / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (docs / "index.html").exists()


def test_a_duplicate_key_fails_the_gate_naming_expectation_and_count(scratch_schema, run_id):  # noqa: F811
    lines = clean_invoices(3)
    create(scratch_schema, [*lines, lines[0]])

    with pytest.raises(GateFailed) as failed:
        _execute(_operator(scratch_schema, run_id), run_id)

    message = str(failed.value)
    assert (
        "billing_ready.duplicate_invoice_line_key (expect_compound_columns_to_be_unique)" in message
    )
    assert "2 unexpected" in message
    assert _gate_row(run_id) == (False, message)
