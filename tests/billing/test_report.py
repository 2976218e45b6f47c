"""The finance report: written from the warehouse, readable offline in a real browser."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.billing.outbox_rows import add_pending
from tests.billing.report_browser import read_report, require_chromium
from waybill import warehouse
from waybill.billing.paths import gate_summary_path
from waybill.billing.report import trend_svg, write_report
from waybill.quality import outcomes


@pytest.fixture
def prefix(outbox_cleanup):
    value = f"INV-W{uuid.uuid4().hex[:8]}-"
    outbox_cleanup.append(value)
    return value


def _posted_run(prefix: str, run_id: str) -> None:
    customers = [
        {"customer_id": "C0001", "currency": "USD"},
        {"customer_id": "C0002", "currency": "CAD"},
    ]
    add_pending(prefix, customers, 5)
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            "update ops.billing_outbox set status = 'posted', posted_run_id = %s,"
            " erp_document_number = 'ERP-INV-' || invoice_id where invoice_id like %s",
            (run_id, f"{prefix}%"),
        )
        conn.execute(
            "insert into ops.billing_holds (invoice_id, rule, observed_value, run_id)"
            " values (%s, 'missing_pod', 'delivered, no POD', %s),"
            " (%s, 'credit_hold', 'C0007 on credit hold', %s)",
            (f"{prefix}H1", run_id, f"{prefix}H2", run_id),
        )
        conn.execute(
            "insert into ops.billing_runs (run_id, gate_passed, invoices_checked, invoices_held)"
            " values (%s, true, 7, 2)",
            (run_id,),
        )
    outcomes.write(
        [
            outcomes.Outcome(
                "billing_ready",
                "missing_pod",
                "critical",
                "row",
                "unexpected_rows_expectation",
                "Every invoice's shipment is delivered with POD.",
                False,
                1,
                [],
            ),
            outcomes.Outcome(
                "billing_ready",
                "duplicate_invoice_key",
                "critical",
                "batch",
                "unexpected_rows_expectation",
                "Unique invoice ids.",
                True,
                0,
                [],
            ),
        ],
        gate_summary_path(run_id),
    )


def _cleanup_run(run_id: str) -> None:
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("delete from ops.billing_runs where run_id = %s", (run_id,))


def test_report_page_and_latest_link(prefix, build_dir):
    run_id = f"manual__2026-01-01T00:00:00+00:00-{prefix}"
    _posted_run(prefix, run_id)
    try:
        index = write_report(run_id)
    finally:
        _cleanup_run(run_id)
    page = index.read_text()
    assert index.parent.name == run_id.replace(":", "_").replace("+", "_")
    assert (build_dir / "reports" / "billing" / "latest" / "index.html").read_text() == page
    assert 'id="posted-count">5<' in page
    assert "missing_pod" in page and "delivered, no POD" in page
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_trend_chart_has_a_point_per_run():
    svg = trend_svg([("run-1", 0.1), ("run-2", 0.05), ("run-3", 0.2)])
    assert svg.count("<circle") == 3
    assert "run-2: 5.0% held" in svg


def test_chromium_reads_the_figures_of_the_warehouse(prefix, build_dir, tmp_path):
    require_chromium()
    run_id = f"chromium-{prefix}"
    _posted_run(prefix, run_id)
    try:
        index = write_report(run_id)
        with warehouse.connect() as conn:
            by_currency = {
                currency: (count, f"{amount:,.2f}")
                for currency, count, amount in conn.execute(
                    "select currency, count(*), sum(total_amount) from ops.billing_outbox"
                    " where posted_run_id = %s group by currency",
                    (run_id,),
                )
            }
            held = conn.execute(
                "select count(distinct invoice_id) from ops.billing_holds where released_at is null"
            ).fetchone()[0]
    finally:
        _cleanup_run(run_id)

    figures = read_report(index, tmp_path / "report.png")

    assert figures["network"] == []
    assert figures["posted"] == sum(count for count, _ in by_currency.values()) == 5
    assert figures["posted_by_currency"] == by_currency
    assert figures["held"] == held
    assert figures["holds_by_rule"]["missing_pod"] >= 1
    assert figures["has_trend_chart"]
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert sum(Decimal(a.replace(",", "")) for _, a in by_currency.values()) > 0
