"""The CRM's REST API as Waybill uses it: an OAuth client-credentials token, then bulk upserts by
external id, paced to the CRM's rate limit (records per second) and retried on 429/5xx through
:class:`waybill.connectors.http.HttpClient`.

Connection ``crm_api`` (``AIRFLOW_CONN_CRM_API``): ``host`` = the CRM's base URL, ``password`` =
the client secret, ``extra`` = ``{"client_id": "...", "rate_limit_per_s": 50, "batch_size": 50}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from waybill.connectors.http import HttpClient

if TYPE_CHECKING:
    from waybill.connections import Endpoint

CONNECTION_ID = "crm_api"
MAX_BATCH = 200
# Records go at PACE × the limit: the CRM has refilled its bucket when a batch arrives even if it
# travelled a little faster than the one before it (a 429 costs a whole Retry-After).
PACE = 0.98


class CrmError(RuntimeError):
    """The CRM refused a whole call (auth, a malformed batch); the message carries its answer."""


@dataclass
class CrmClient:
    """One authenticated session with the CRM."""

    endpoint: Endpoint
    timeout_s: float = 30.0
    http: HttpClient = field(init=False)
    rate: float = field(init=False)
    _next_at: float = field(init=False, default=0.0)
    batch_size: int = field(init=False)
    clock: datetime | None = None

    def __post_init__(self) -> None:
        extra = self.endpoint.extra
        rate = float(extra.get("rate_limit_per_s") or 0)
        size = int(
            extra.get("batch_size") or (min(MAX_BATCH, int(rate)) if rate >= 1 else MAX_BATCH)
        )
        self.batch_size = max(1, min(MAX_BATCH, size))
        self.rate = rate * PACE
        self.http = HttpClient(
            source="crm", base_url=self.endpoint.base_url, timeout_s=self.timeout_s
        )

    def authenticate(self) -> datetime:
        """Exchange the client credentials for a bearer token; return the CRM's clock
        (``issued_at``, else now). Raises :class:`CrmError` when the CRM refuses."""
        extra = self.endpoint.extra
        response = self.http.request(
            "POST",
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": extra.get("client_id", "waybill"),
                "client_secret": self.endpoint.token or "",
            },
        )
        if response.status_code != 200:
            raise CrmError(
                f"crm: token endpoint answered {response.status_code}: {response.text[:300]}"
            )
        body = response.json()
        self.http.session.headers["Authorization"] = f"Bearer {body['access_token']}"
        issued = body.get("issued_at")
        self.clock = (
            datetime.fromisoformat(issued.replace("Z", "+00:00")) if issued else datetime.now(UTC)
        )
        return self.clock

    def _pace(self, records: int) -> None:
        """Wait until a batch of ``records`` may start: each start is scheduled ``records /
        rate`` after the previous start (not after it finished), so the time a batch spends in
        flight and being recorded counts towards the wait. ``RateLimiter`` spaces calls evenly
        and restarts its schedule when a caller is late, which loses that time for batches."""
        if self.rate <= 0:
            return
        now = time.monotonic()
        start = max(now, self._next_at)
        self._next_at = start + records / self.rate
        if start > now:
            time.sleep(start - now)

    def upsert(self, obj: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bulk-upsert ``records`` (each with ``external_id``) in one call; return the CRM's
        per-record results (``success``, ``status_code``, ``version``, ``errors``), in order.

        Paces batches to the CRM's limit (``rate_limit_per_s`` × ``PACE`` records per second;
        batches of at most ``batch_size`` records, at most one second of the limit); a 429 is
        retried after its ``Retry-After`` by :class:`HttpClient`. Raises :class:`CrmError` when the call is refused as a
        whole, ``SourceUnavailable`` after retries.
        """
        self._pace(len(records))
        response = self.http.request(
            "POST", f"/composite/sobjects/{obj}", json={"records": records, "allOrNone": False}
        )
        if response.status_code != 200:
            raise CrmError(
                f"crm: bulk upsert of {len(records)} {obj} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        results = response.json()["results"]
        if len(results) != len(records):
            raise CrmError(f"crm: {len(records)} {obj} sent, {len(results)} results")
        return results


def sandbox_crm_connection(
    base_url: str,
    client_secret: str = "sandbox-crm-secret",
    *,
    rate_limit_per_s: float = 0.0,
) -> dict[str, str]:
    """``AIRFLOW_CONN_CRM_API`` pointing at a sandbox's ``/crm`` (tests, demo, benchmarks)."""
    import json

    extra: dict[str, object] = {"client_id": "waybill"}
    if rate_limit_per_s > 0:
        extra["rate_limit_per_s"] = rate_limit_per_s
    spec = {
        "conn_type": "http",
        "host": f"{base_url.rstrip('/')}/crm",
        "password": client_secret,
        "extra": extra,
    }
    return {"AIRFLOW_CONN_CRM_API": json.dumps(spec)}
