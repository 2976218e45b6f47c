"""``billing_documents`` against a small good and a small bad set of ERP documents."""

from __future__ import annotations

from expectations.checkpoints import checkpoint, validation
from expectations.suites import billing_documents
from waybill import warehouse
from waybill.quality import outcomes

COLUMNS = "(invoice_id, version, kind, status, total_amount, original_version, dispute_id)"
GOOD = [
    ("INV-A", 1, "invoice", "posted", "100.00", None, None),
    ("INV-A", 2, "credit_note", "posted", "20.00", 1, "D1"),  # a dispute credit
    ("INV-A", 3, "credit_note", "posted", "80.00", 1, None),  # the rest, on amendment
    ("INV-A", 4, "invoice", "pending", "130.00", None, None),  # the replacement
    ("INV-B", 1, "invoice", "cancelled", "55.00", None, None),  # never sent
    ("INV-B", 2, "invoice", "posted", "60.00", None, None),
    # Breaks the rules, but held: held documents are not bound for the ERP.
    ("INV-B", 3, "credit_note", "held", "99.00", 2, None),
]
BAD = [
    ("INV-C", 1, "invoice", "posted", "100.00", None, None),
    ("INV-C", 2, "credit_note", "pending", "70.00", 1, None),
    ("INV-C", 3, "credit_note", "pending", "40.00", 1, None),  # 110 credited on 100 billed
    ("INV-D", 1, "invoice", "cancelled", "10.00", None, None),
    ("INV-D", 2, "credit_note", "pending", "10.00", 1, None),  # credits a cancelled invoice
    ("INV-E", 1, "invoice", "posted", "0.00", None, None),  # not positive
    ("INV-F", 1, "invoice", "posted", "50.00", None, None),
    ("INV-F", 2, "credit_note", "posted", "5.00", 1, "D9"),
    ("INV-F", 3, "credit_note", "pending", "5.00", 1, "D9"),  # the same dispute twice
]


def _table(schema: str, rows: list[tuple]) -> None:
    with warehouse.connect(autocommit=True) as conn:
        conn.execute(
            f"create table {schema}.billing_outbox (invoice_id text, version integer,"
            " kind text, status text, total_amount numeric(14, 2), original_version integer,"
            " dispute_id text)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                f"insert into {schema}.billing_outbox {COLUMNS} values"
                " (%s, %s, %s, %s, %s, %s, %s)",
                rows,
            )


def _run(gx_context, schema, tmp_path) -> dict[str, outcomes.Outcome]:
    vd = validation(
        gx_context, billing_documents.build_suite(schema=schema), schema, "billing_outbox"
    )
    summary = tmp_path / "gate.json"
    checkpoint(gx_context, "test_billing_documents", [vd], summary).run()
    return {o.rule: o for o in outcomes.read(summary)}


def test_good_documents_pass_every_rule(gx_context, scratch_schema, tmp_path):
    _table(scratch_schema, GOOD)
    found = _run(gx_context, scratch_schema, tmp_path)
    assert {rule for rule, o in found.items() if not o.success} == set()
    assert set(found) == {rule.name for rule in billing_documents.RULES}


def test_bad_documents_stop_posting_naming_each_rule(gx_context, scratch_schema, tmp_path):
    _table(scratch_schema, BAD)
    found = _run(gx_context, scratch_schema, tmp_path)
    failed = {rule: o.unexpected_count for rule, o in found.items() if not o.success}
    assert failed == {
        "credit_exceeds_billed": 1,
        "credit_without_invoice": 1,
        "non_positive_document": 1,
        "dispute_credited_twice": 1,
    }
    stop = outcomes.stop_message(list(found.values()))
    assert stop is not None and "billing_documents." in stop
