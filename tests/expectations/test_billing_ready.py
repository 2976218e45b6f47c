"""``billing_ready`` against a small good and a small bad invoice table in the test warehouse."""

from __future__ import annotations

from expectations.checkpoints import checkpoint, validation
from expectations.suites import billing_ready
from tests.expectations.billing_tables import clean_invoices, create, line
from waybill.quality import outcomes


def _run(gx_context, schema, tmp_path) -> dict[str, outcomes.Outcome]:
    vd = validation(
        gx_context, billing_ready.build_suite(schema=schema), schema, "fct_invoice_lines"
    )
    summary = tmp_path / "gate.json"
    checkpoint(gx_context, "test_billing_ready", [vd], summary).run()
    return {o.rule: o for o in outcomes.read(summary)}


def test_every_expectation_has_severity_and_scope():
    suite = billing_ready.build_suite()
    assert len(suite.expectations) >= 15
    for expectation in suite.expectations:
        assert expectation.meta["severity"] in ("critical", "warning")
        assert expectation.meta["scope"] in ("batch", "row")
        assert expectation.meta["rule"]


def test_good_table_passes_every_expectation(gx_context, scratch_schema, tmp_path):
    create(scratch_schema, clean_invoices(5))
    found = _run(gx_context, scratch_schema, tmp_path)
    failed = {rule: o for rule, o in found.items() if not o.success}
    assert failed == {}
    assert outcomes.stop_message(list(found.values())) is None
    assert found["credit_hold"].data_docs.startswith("file://")


def test_bad_table_fails_each_rule_with_its_count(gx_context, scratch_schema, tmp_path):
    lines = clean_invoices(3)
    lines += [
        line("INV-B01", 1, "-5.00"),  # negative amount
        line("INV-B02", 1, "10.00", currency="XXX"),  # not an allowed currency
        line("INV-B03", 1, "10.00", customer_id="C0002", currency="CAD"),  # on credit hold
        line("INV-B04", 1, "10.00", rate_card_id=None, contract_id=None),  # out of contract
        line("INV-B05", 1, "10.00"),  # amount beyond the contract rate (set below)
        line("INV-B06", 1, "10.00", customer_id="C9999"),  # unknown customer
        line("INV-B07", 1, None),  # no amount
        line("INV-T0001", 1, "100.00"),  # duplicate line key
        line("INV-B08", 1, "10.00", shipment_id="SH-INV-T0002"),  # shipment on two invoices
    ]
    create(scratch_schema, lines)
    from waybill import warehouse

    with warehouse.connect(autocommit=True) as conn:
        # Headers that disagree with their lines, and a shipment without its POD.
        conn.execute(
            f"update {scratch_schema}.fct_invoices set total_amount = 1 where invoice_id = 'INV-T0003'"
        )
        conn.execute(
            f"update {scratch_schema}.fct_invoices set pod_received_at = null"
            " where invoice_id = 'INV-T0002'"
        )
        conn.execute(
            f"update {scratch_schema}.fct_freight_charges set contract_amount = 9"
            " where charge_id = 'INV-B05-01'"
        )
        conn.execute(
            f"insert into {scratch_schema}.fct_invoices select * from"
            f" {scratch_schema}.fct_invoices where invoice_id = 'INV-B01'"
        )

    found = _run(gx_context, scratch_schema, tmp_path)

    expected_counts = {
        "negative_amount": 1,
        "currency_not_allowed": 1,
        "credit_hold": 1,
        "charge_out_of_contract": 1,
        "amount_out_of_contract": 1,
        "unknown_customer": 1,
        "missing_amount": 1,
        "missing_pod": 1,
        "duplicate_invoice_key": 1,
        "shipment_invoiced_twice": 1,
        "duplicate_invoice_line_key": 2,
    }
    observed = {rule: found[rule].unexpected_count for rule in expected_counts}
    assert observed == expected_counts
    assert not found["totals_mismatch"].success  # INV-T0001's duplicate line and INV-T0003
    assert found["missing_customer"].success
    assert found["currency_mismatch"].success is False  # XXX is not the customer's USD
    message = outcomes.stop_message(list(found.values()))
    assert "billing_ready.duplicate_invoice_line_key" in message
    assert "2 unexpected" in message
    assert "billing_ready.duplicate_invoice_key" in message
