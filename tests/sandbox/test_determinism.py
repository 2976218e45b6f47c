"""Same seed, same bytes; another seed, other data; any shipment can be built on its own."""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING

from waybill_sandbox.files import write_feeds
from waybill_sandbox.truth import write_truth
from waybill_sandbox.world import World

if TYPE_CHECKING:
    from pathlib import Path


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _truth_text(seed: int, shipments: int) -> str:
    buf = io.StringIO()
    write_truth(World(seed, shipments), buf)
    return buf.getvalue()


def test_same_seed_gives_byte_identical_files_and_truth(tmp_path):
    write_feeds(World(13, 150), tmp_path / "a")
    write_feeds(World(13, 150), tmp_path / "b")
    a, b = _tree_digest(tmp_path / "a"), _tree_digest(tmp_path / "b")
    assert a == b
    assert any(name.endswith(".edi") for name in a) and any(name.endswith(".csv") for name in a)
    assert _truth_text(13, 150) == _truth_text(13, 150)


def test_another_seed_differs(tmp_path):
    write_feeds(World(13, 150), tmp_path / "a")
    write_feeds(World(14, 150), tmp_path / "b")
    assert _tree_digest(tmp_path / "a") != _tree_digest(tmp_path / "b")
    assert _truth_text(13, 150) != _truth_text(14, 150)


def test_a_shipment_built_alone_equals_the_streamed_one():
    world = World(13, 400)
    streamed = list(world.iter_shipments(250, 260))
    alone = [World(13, 400).shipment(i) for i in range(250, 260)]
    assert [(s.order_number, s.tracking_number, s.charges, s.events) for s in streamed] == [
        (s.order_number, s.tracking_number, s.charges, s.events) for s in alone
    ]


def test_identifiers_are_unique_per_system():
    shipments = list(World(13, 3000).iter_shipments())
    for attribute in (
        "order_number",
        "wms_shipment_id",
        "tms_shipment_id",
        "tracking_number",
        "bol_number",
    ):
        values = [getattr(s, attribute) for s in shipments]
        assert len(set(values)) == len(values), attribute
