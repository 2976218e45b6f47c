"""Settings every Waybill DAG shares: owner, retries, a fixed start and no surprise backfills."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

START_DATE = datetime(2026, 1, 1)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "waybill",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
}

DAG_KWARGS: dict[str, Any] = {
    "start_date": START_DATE,
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}
