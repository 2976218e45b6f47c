"""The file feeds: WMS CSV drops (the legacy path) and Ridgeline's X12 files, written to a folder.

Layout under the output folder::

    wms/shipment_confirmations_YYYYMMDD.csv   one row per shipped line, per local ship date
    wms/inventory_adjustments_YYYYMMDD.csv    one row per adjustment, per warehouse-local date
    ridgeline/214/RDGL_214_NNNNNN.edi         shipment status, one ST per event
    ridgeline/210/RDGL_210_NNNNNN.edi         freight invoices, one ST per invoice
    manifest.json                              every file with its record count
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from waybill_sandbox.records import wms_adjustment, wms_confirmation
from waybill_sandbox.rng import unit
from waybill_sandbox.x12 import X12Batcher, X12File

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TextIO

    from waybill_sandbox.faults import FaultConfig
    from waybill_sandbox.world import Shipment, World

CONFIRMATION_COLUMNS = (
    "wms_shipment_id",
    "warehouse_id",
    "order_ref",
    "line_number",
    "ordered_item",
    "shipped_item",
    "ordered_qty",
    "shipped_qty",
    "substituted",
    "carrier_scac",
    "tracking_number",
    "bol_number",
    "package_count",
    "weight_kg",
    "released_at",
    "picked_at",
    "packed_at",
    "shipped_at",
    "sent_at",
)
DRIFT_COLUMN = "pallet_count"
ADJUSTMENT_COLUMNS = (
    "adjustment_id",
    "warehouse_id",
    "item_code",
    "qty_delta",
    "reason_code",
    "adjusted_at",
)
BAD_ROW_RATE = 0.005


@dataclass
class CsvRow:
    """One CSV row as it will be written (``bad`` names the corruption, when there is one)."""

    file: str
    header: tuple[str, ...]
    values: list[str]
    record_id: str
    bad: str | None = None


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def csv_rows_for(s: Shipment, world: World) -> Iterator[CsvRow]:
    """Yield one shipment's WMS CSV rows: confirmation lines (twice if resent), adjustments."""
    day = s.ship_date.strftime("%Y%m%d")
    drift = s.ship_date >= world.drift_day
    header = (*CONFIRMATION_COLUMNS, DRIFT_COLUMN) if drift else CONFIRMATION_COLUMNS
    name = f"wms/shipment_confirmations_{day}.csv"
    copies = [False] + ([True] if s.wms_resent_at is not None else [])
    for resent in copies:
        rec = wms_confirmation(s, world, resent=resent)
        head = [_fmt(rec["wms_shipment_id"]), _fmt(rec["warehouse_id"]), _fmt(rec["order_ref"])]
        tail = [_fmt(rec[c]) for c in CONFIRMATION_COLUMNS[9:]]
        for line in rec["lines"]:
            values = [
                *head,
                str(line["line_number"]),
                line["ordered_item"],
                line["shipped_item"],
                str(line["ordered_qty"]),
                str(line["shipped_qty"]),
                _fmt(line["substituted"]),
                *tail,
            ]
            if drift:
                values.append(_fmt(rec.get("pallet_count")))
            row_id = f"{rec['wms_shipment_id']}/{int(resent)}/{line['line_number']}"
            bad = None
            u = unit(world.seed, "csv-bad", row_id)
            if u < BAD_ROW_RATE / 2:
                values[7] = "N/A"
                bad = "shipped_qty_not_a_number"
            elif u < BAD_ROW_RATE:
                values = values[:9]
                bad = "missing_columns"
            yield CsvRow(name, header, values, row_id, bad)
    for k, adj in enumerate(s.adjustments):
        rec = wms_adjustment(s, k)
        yield CsvRow(
            f"wms/inventory_adjustments_{day}.csv",
            ADJUSTMENT_COLUMNS,
            [_fmt(rec[c]) for c in ADJUSTMENT_COLUMNS],
            adj.adjustment_id,
        )


def iter_csv_rows(world: World) -> Iterator[CsvRow]:
    """Yield every WMS CSV row in file order (files by date; the date never goes backwards)."""
    for s in world.iter_shipments():
        yield from csv_rows_for(s, world)


def csv_line(values: list[str]) -> str:
    """One CSV line (RFC 4180 quoting, ``\\r\\n`` terminated like most WMS exports)."""
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue()


class FeedWriter:
    """Writes the feeds of shipments fed in index order; one CSV of each kind open at a time."""

    def __init__(self, world: World, out: Path, faults: FaultConfig | None = None):
        self.world = world
        self.out = Path(out)
        (self.out / "wms").mkdir(parents=True, exist_ok=True)
        (self.out / "ridgeline" / "214").mkdir(parents=True, exist_ok=True)
        (self.out / "ridgeline" / "210").mkdir(parents=True, exist_ok=True)
        self.files: dict[str, dict] = {}
        self.handles: dict[str, tuple[str, TextIO]] = {}
        self.x12 = X12Batcher(world, faults)

    def add(self, s: Shipment) -> None:
        """Write everything shipment ``s`` contributes to the feeds."""
        for row in csv_rows_for(s, self.world):
            self._write_row(row)
        for f in self.x12.add(s):
            self._write_x12(f)

    def close(self) -> dict:
        """Flush the last files, close handles, write ``manifest.json`` and return the manifest."""
        for f in self.x12.finish():
            self._write_x12(f)
        for _, fh in self.handles.values():
            fh.close()
        self.handles.clear()
        manifest = {
            "seed": self.world.seed,
            "shipments": self.world.n,
            "files": sorted(self.files.values(), key=lambda x: x["name"]),
        }
        (self.out / "manifest.json").write_text(
            json.dumps(manifest, indent=1) + "\n", encoding="utf-8"
        )
        return manifest

    def _write_row(self, row: CsvRow) -> None:
        kind = row.header[0]
        current = self.handles.get(kind)
        if current is None or current[0] != row.file:
            if current is not None:
                current[1].close()
            fh = open(self.out / row.file, "w", newline="", encoding="utf-8")  # noqa: SIM115 - rolled per date
            fh.write(csv_line(list(row.header)))
            self.handles[kind] = current = (row.file, fh)
            self.files[row.file] = {"name": row.file, "kind": "csv", "records": 0, "bad_rows": 0}
        current[1].write(csv_line(row.values))
        entry = self.files[row.file]
        entry["records"] += 1
        entry["bad_rows"] += row.bad is not None

    def _write_x12(self, f: X12File) -> None:
        rel = f"ridgeline/{f.kind}/{f.name}"
        (self.out / rel).write_bytes(f.content)
        self.files[rel] = {
            "name": rel,
            "kind": f"x12-{f.kind}",
            "records": f.transaction_sets,
            "truncated": f.truncated,
        }


def write_feeds(world: World, out: Path, faults: FaultConfig | None = None) -> dict:
    """Write every file feed of ``world`` under ``out`` in one streamed pass; return the manifest.

    The manifest (every file with its record count) is also written to ``out/manifest.json``.
    Raises ``OSError`` when ``out`` cannot be written.
    """
    writer = FeedWriter(world, out, faults)
    try:
        for s in world.iter_shipments():
            writer.add(s)
    finally:
        manifest = writer.close()
    return manifest
