"""One HTTP client factory for every component: ingestion's ``client_for``, billing's ERP client."""

from __future__ import annotations

import json

import pytest

from waybill.billing.run import erp_client
from waybill.ingest import client_for
from waybill.sources import get_source


def test_billing_and_ingestion_build_the_erp_client_alike(monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ERP_API",
        json.dumps({"conn_type": "http", "host": "http://erp.test/api", "password": "t0ken"}),
    )
    erp = get_source("erp")

    billing, limit = erp_client()
    ingestion = client_for(erp)

    assert limit == erp.rate_limit_per_s
    for client in (billing, ingestion):
        assert (client.source, client.base_url, client.timeout_s) == (
            "erp",
            "http://erp.test/api",
            erp.timeout_s,
        )
        assert client.headers == {"Authorization": "Bearer t0ken"}
        assert client.rate_limiter is not None


def test_a_source_without_a_connection_is_refused() -> None:
    with pytest.raises(ValueError, match="no connection_id"):
        client_for(get_source("wms_files"))
