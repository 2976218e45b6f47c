"""The ERP invoice document in Python: its shape and canonical hash.

The planner builds these bodies (:mod:`waybill.billing.documents`); this module is
the same shape for code that builds a single document (tests, benchmarks, tools).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any


def invoice_body(
    invoice_id: str, customer_id: str, currency: str, invoice_date: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return the ERP invoice document; ``total_amount`` is the sum of the lines, as a 2-decimal string."""
    total = sum((Decimal(line["amount"]) for line in lines), Decimal("0"))
    return {
        "invoice_number": invoice_id,
        "customer_id": customer_id,
        "currency": currency,
        "invoice_date": invoice_date,
        "total_amount": f"{total:.2f}",
        "lines": lines,
    }


def body_sha256(body: dict[str, Any]) -> str:
    """Hash a body canonically (sorted keys, no whitespace), as the ERP does."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
