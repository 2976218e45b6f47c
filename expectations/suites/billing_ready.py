"""``billing_ready``: checks on ``marts.fct_invoice_lines`` that must pass before anything posts."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

SUITE_NAME = "billing_ready"
TABLE = "fct_invoice_lines"
SCHEMA = "marts"


def build_suite() -> gx.ExpectationSuite:
    """Return the suite; every expectation carries ``meta.severity`` (critical stops all posting)."""
    critical = {"severity": "critical"}
    return gx.ExpectationSuite(
        name=SUITE_NAME,
        expectations=[
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["invoice_id", "invoice_line_number"], meta=critical
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id", meta=critical),
            gxe.ExpectColumnValuesToNotBeNull(column="amount", meta=critical),
            gxe.ExpectColumnValuesToNotBeNull(column="currency", meta=critical),
            gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, meta=critical),
        ],
    )
