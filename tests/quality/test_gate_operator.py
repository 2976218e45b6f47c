"""The gate operator (GX provider operator + severity) on small scratch tables."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from expectations.checkpoints import checkpoint, validation
from expectations.suites import billing_ready
from tests.expectations.billing_tables import clean_invoices, create, line
from tests.expectations.conftest import scratch_schema  # noqa: F401 - fixture
from waybill.quality.gate_operator import VERDICT_XCOM_KEY, GateFailed, QualityGateOperator
from waybill.quality.outcomes import SUMMARY_FILE

RUN_ID = "gate-test-run"


def _operator(schema: str, folder: Path) -> QualityGateOperator:
    def configure(context):
        suite = billing_ready.build_suite(schema=schema)
        return checkpoint(
            context,
            "test_gate",
            [validation(context, suite, schema, "fct_invoice_lines")],
            # Next to the GX context, as billing_gate_checkpoint writes it (the gate's scratch).
            Path(context.root_directory).parent / SUMMARY_FILE,
        )

    def run_folder(run_id: str) -> Path:
        assert run_id == RUN_ID
        return folder

    return QualityGateOperator(
        task_id="gate_test", configure_checkpoint=configure, run_folder=run_folder
    )


def _execute(operator: QualityGateOperator, ti: mock.Mock):
    return operator.execute({"run_id": RUN_ID, "ti": ti, "params": {}})


def _pushed_verdict(ti: mock.Mock) -> dict:
    (verdict,) = [
        call.kwargs["value"]
        for call in ti.xcom_push.call_args_list
        if call.kwargs.get("key") == VERDICT_XCOM_KEY
    ]
    return verdict


def test_row_failures_pass_the_gate_and_are_named(scratch_schema, tmp_path):  # noqa: F811
    create(scratch_schema, [*clean_invoices(2), line("INV-NEG", 1, "-1.00")])
    ti = mock.Mock()

    summary = _execute(_operator(scratch_schema, tmp_path / "run"), ti)

    assert summary["failed_row_rules"] == ["negative_amount"]
    verdict = _pushed_verdict(ti)
    assert (verdict["passed"], verdict["message"]) == (True, None)
    assert summary["verdict"] == verdict
    # The Data Docs and the summary are published to the folder the caller chose.
    docs = tmp_path / "run" / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (docs / "index.html").exists()
    assert (tmp_path / "run" / SUMMARY_FILE).exists()


def test_a_duplicate_key_fails_the_gate_naming_expectation_and_count(scratch_schema, tmp_path):  # noqa: F811
    lines = clean_invoices(3)
    create(scratch_schema, [*lines, lines[0]])
    ti = mock.Mock()

    with pytest.raises(GateFailed) as failed:
        _execute(_operator(scratch_schema, tmp_path / "run"), ti)

    message = str(failed.value)
    assert (
        "billing_ready.duplicate_invoice_line_key (expect_compound_columns_to_be_unique)" in message
    )
    assert "2 unexpected" in message
    # The verdict is pushed before the gate fails, for billing to record.
    verdict = _pushed_verdict(ti)
    assert (verdict["passed"], verdict["message"]) == (False, message)
    assert verdict["seconds"] >= 0


def test_quality_imports_nothing_from_billing():
    quality = Path(__file__).resolve().parents[2] / "plugins" / "waybill" / "quality"
    offenders = [
        path.name
        for path in sorted(quality.glob("*.py"))
        if "waybill.billing" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
