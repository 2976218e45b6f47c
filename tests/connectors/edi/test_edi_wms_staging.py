"""856/940/945 files reach staging: landed through the `wms_edi` source, built by dbt.

Expected rows are read from the corpus files with plain splitting, not the parser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from test_edi_warehouse_records import raw_sets

from waybill import warehouse
from waybill.ingest import ingest_entity
from waybill.runtime import DBT_EXECUTABLE, DBT_PROJECT_DIR

if TYPE_CHECKING:
    from pathlib import Path

FILES = {
    "ship_notices": (
        "856",
        ["ediengine_856.Crossdock.OK.edi", "x12types_test-data_004060_856.edi"],
    ),
    "shipping_orders": (
        "940",
        ["ediengine_940.OK.edi", "x12types_940_test_940_test_940_2_L50.edi"],
    ),
}
MODELS = (
    "stg_wms_edi__ship_notice_lines",
    "stg_wms_edi__shipping_orders",
    "stg_wms_edi__shipping_advice_lines",
)


@pytest.fixture
def wms_edi_landed(x12_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The corpus 856s and 940s (and a 945) landed into raw.wms_edi__*; dropped afterwards."""
    monkeypatch.setenv("WAYBILL_INBOUND_DIR", str(tmp_path))
    for kind, names in FILES.values():
        folder = tmp_path / "wms_edi" / kind
        folder.mkdir(parents=True)
        for name in names:
            shutil.copy(x12_corpus / name, folder / name)
    advice = (x12_corpus / "x12types_945__945_test_test_945_parse_1_L384.edi").read_text()
    (tmp_path / "wms_edi" / "945").mkdir()
    # The sample's SE01 says 12 of its 16 segments: corrected, or the set is a dead letter.
    (tmp_path / "wms_edi" / "945" / "advice.edi").write_text(
        advice.replace("SE*12*000006123", "SE*16*000006123")
    )
    _drop()
    for entity in ("ship_notices", "shipping_orders", "shipping_advices"):
        result = ingest_entity("wms_edi", entity, run_id="wms_edi_staging_test")
        assert result["dead_lettered"] == 0, result
    yield
    _drop()


def _drop() -> None:
    with warehouse.connect() as conn, conn.transaction():
        for entity in ("ship_notices", "shipping_orders", "shipping_advices"):
            conn.execute(f"drop table if exists raw.wms_edi__{entity}")
        for model in MODELS:
            conn.execute(f"drop table if exists staging.{model}")
        for table in ("dead_letters", "load_batches", "watermarks", "ingested_files"):
            conn.execute(f"delete from ops.{table} where source = 'wms_edi'")


def test_856_940_945_reach_staging(x12_corpus: Path, wms_edi_landed: None) -> None:
    env = {**os.environ, **warehouse.dbt_env(), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    completed = subprocess.run(
        [DBT_EXECUTABLE, "build", "--quiet", "--select", "path:models/staging/wms_edi"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]

    expected_lines = []
    for name in FILES["ship_notices"][1]:
        (segments,) = raw_sets(x12_corpus / name)
        shipment = next(s for s in segments if s[0] == "BSN")[2]
        quantities = [Decimal(s[2]) for s in segments if s[0] == "SN1"]
        expected_lines += [(shipment, i, q) for i, q in enumerate(quantities, start=1)]
    orders = sorted(
        next(s for s in segments if s[0] == "W05")[2]
        for name in FILES["shipping_orders"][1]
        for segments in raw_sets(x12_corpus / name)
    )
    with warehouse.connect() as conn:
        lines = conn.execute(
            "select shipment_id, line_position, quantity_shipped"
            " from staging.stg_wms_edi__ship_notice_lines order by 1, 2"
        ).fetchall()
        got_orders = conn.execute(
            "select depositor_order_number, line_count"
            " from staging.stg_wms_edi__shipping_orders order by 1"
        ).fetchall()
        advice = conn.execute(
            "select depositor_order_number, shipment_id, shipped_date::text, quantity_shipped"
            " from staging.stg_wms_edi__shipping_advice_lines"
        ).fetchall()
    assert lines == sorted(expected_lines)
    assert [order for order, _ in got_orders] == orders
    assert dict(got_orders)["538686"] == 3
    assert advice == [("IF102", "BOL12345", "2019-06-04", Decimal("3000"))]
