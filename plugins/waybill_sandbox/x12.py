"""An independent ANSI X12 004010 writer for the LTL carrier's 214 (status) and 210 (invoice) files.

Ridgeline's shipments are taken in index order; every 20 shipments make one 214 file (one ST per
status event) and every 20 invoices one 210 file. Late events and supplemental invoices slip to the
next file. Files rotate through four delimiter styles (file ordinal mod 4): 0 ``*``/``~`` with no
newline at all, 1 ``*``/``~`` + newline, 2 ``|``/``~`` + newline with ``^`` components, 3 newline
as the segment terminator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from waybill_sandbox.faults import FaultConfig
from waybill_sandbox.reference import TZ_X12_CODE, WAREHOUSES
from waybill_sandbox.rng import rng_for, unit
from waybill_sandbox.timefmt import local_dt

if TYPE_CHECKING:
    from collections.abc import Iterator

    from waybill_sandbox.world import CarrierEvent, CarrierInvoice, Shipment, World

SHIPMENTS_PER_214_FILE = 20
INVOICES_PER_210_FILE = 20
SENDER = "RDGL"
RECEIVER = "WAYBILLSHPR"
FILE_TZ = "America/New_York"
LATE_SECONDS = 6 * 3600

# (element separator, segment terminator, component separator)
STYLES = (("*", "~", ">"), ("*", "~\n", ">"), ("|", "~\n", "^"), ("*", "\n", ">"))

AT7_CODES = {
    "picked_up": ("AF", "NS"),
    "in_transit": ("X6", "NS"),
    "out_for_delivery": ("X1", "NS"),
    "delivered": ("D1", "NS"),
    "delayed": ("SD", "AJ"),
    "damaged": ("A9", "AI"),
}
WAREHOUSE_NAMES = {w[0]: (w[1], w[2], w[3]) for w in WAREHOUSES}


@dataclass
class X12File:
    """One carrier file: name, kind (``214``/``210``), bytes, and what it holds (for the truth)."""

    name: str
    kind: str
    content: bytes
    created_at: int
    transaction_sets: int
    truncated: bool = False
    shipments: list[str] = field(default_factory=list)  # PRO numbers referenced
    events: list[tuple[str, int]] = field(default_factory=list)  # 214: (PRO, event seq) carried
    # The leading transaction sets whose SE segment (with its terminator) survived the cut: a
    # reader still gets these from a truncated file. Equals transaction_sets when not truncated.
    complete_sets: int = 0


def _segments_to_text(segments: list[list[str]], style: int) -> str:
    elem, term, comp = STYLES[style]
    out = []
    for seg in segments:
        if seg[0] == "ISA":
            # ISA is fixed width and carries the separators: ISA16 is the component separator.
            out.append(elem.join([*seg[:16], comp]))
            continue
        values = list(seg)
        while len(values) > 1 and values[-1] == "":
            values.pop()
        out.append(elem.join(values))
    return term.join(out) + term


def _envelope(
    kind: str, ctrl: int, created_at: int, bodies: list[list[list[str]]]
) -> list[list[str]]:
    dt = local_dt(created_at, FILE_TZ)
    functional = "QM" if kind == "214" else "IM"
    segs: list[list[str]] = [
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "02",
            SENDER.ljust(15),
            "ZZ",
            RECEIVER.ljust(15),
            dt.strftime("%y%m%d"),
            dt.strftime("%H%M"),
            "U",
            "00401",
            f"{ctrl:09d}",
            "0",
            "P",
        ],
        [
            "GS",
            functional,
            SENDER,
            RECEIVER,
            dt.strftime("%Y%m%d"),
            dt.strftime("%H%M"),
            str(ctrl),
            "X",
            "004010",
        ],
    ]
    for k, body in enumerate(bodies, start=1):
        st_ctrl = f"{ctrl % 100000}{k:04d}"
        segs.append(["ST", kind, st_ctrl])
        segs.extend(body)
        segs.append(["SE", str(len(body) + 2), st_ctrl])
    segs.append(["GE", str(len(bodies)), str(ctrl)])
    segs.append(["IEA", "1", f"{ctrl:09d}"])
    return segs


def _parties(s: Shipment) -> list[list[str]]:
    wh_name, wh_city, wh_state = WAREHOUSE_NAMES[s.warehouse_id]
    return [
        ["N1", "SH", f"WAYBILL {wh_name.upper()}"],
        ["N4", wh_city, wh_state],
        ["N1", "CN", s.ship_to_name],
        ["N3", s.ship_to_street],
        ["N4", s.dest[0], s.dest[1], s.dest[2]],
    ]


def status_body(s: Shipment, ev: CarrierEvent) -> list[list[str]]:
    """Segments between ST and SE of a 214 for one status event."""
    status, reason = AT7_CODES[ev.milestone]
    dt = local_dt(ev.at, ev.tz)
    return [
        ["B10", s.tracking_number, s.bol_number, SENDER],
        ["L11", s.order_number, "PO"],
        *_parties(s),
        ["LX", "1"],
        [
            "AT7",
            status,
            reason,
            "",
            "",
            dt.strftime("%Y%m%d"),
            dt.strftime("%H%M"),
            TZ_X12_CODE.get(ev.tz, "LT"),
        ],
        ["MS1", ev.city, ev.state],
        ["MS2", SENDER, f"T{(s.block * 37) % 9000 + 1000}"],
    ]


def invoice_body(s: Shipment, inv: CarrierInvoice) -> list[list[str]]:
    """Segments between ST and SE of a 210 for one invoice (B3-07 = sum of L1-04, in cents)."""
    delivered = local_dt(s.delivered_at or inv.invoiced_at, s.dest[3]).strftime("%Y%m%d")
    shipped = s.ship_date.strftime("%Y%m%d")
    billed = local_dt(inv.invoiced_at, FILE_TZ).strftime("%Y%m%d")
    weight = str(max(1, s.weight_dg // 10))
    body: list[list[str]] = [
        [
            "B3",
            "",
            inv.invoice_number,
            s.tracking_number,
            "PP",
            "",
            billed,
            str(inv.total_cents),
            "",
            delivered,
            "035",
            SENDER,
            shipped,
        ],
        ["C3", "USD"],
        ["N9", "BM", s.bol_number],
        ["N9", "PO", s.order_number],
        ["G62", "86", shipped],
        *_parties(s),
        ["N1", "BT", "WAYBILL LOGISTICS AP"],
    ]
    for n, (code, desc, cents) in enumerate(inv.lines, start=1):
        body.append(["LX", str(n)])
        body.append(["L5", str(n), desc])
        if n == 1 and not inv.supplemental:
            body.append(
                ["L0", str(n), "", "", weight, "G", "", "", str(max(1, s.pallet_count)), "PLT"]
            )
        else:
            body.append(["L0", str(n)])
        body.append(["L1", str(n), "", "", str(cents), "", "", "", code])
    body.append(
        [
            "L3",
            weight,
            "G",
            "",
            "",
            str(inv.total_cents),
            "",
            "",
            "",
            "",
            "",
            str(max(1, s.pallet_count)),
        ]
    )
    return body


class X12Batcher:
    """Builds Ridgeline's files from shipments fed in index order (one pass, bounded memory).

    ``add(shipment)`` returns the files completed by that shipment; ``finish()`` the rest.
    With carrier faults on, some files are cut short (``truncated=True``).
    """

    def __init__(self, world: World, faults: FaultConfig | None = None):
        self.world = world
        self.faults = faults or FaultConfig()
        self.ctrl_base = (world.seed % 1000) * 100000
        self.seq = {"214": 0, "210": 0}
        self.total = 0
        self.ridgeline_seen = 0
        # current: the file being filled; deferred: late items that land in the file after it.
        self.current: dict[str, list[tuple[Shipment, Any]]] = {"214": [], "210": []}
        self.deferred: dict[str, list[tuple[Shipment, Any]]] = {"214": [], "210": []}

    def add(self, s: Shipment) -> list[X12File]:
        """Take one shipment's events and invoices; return any files now complete."""
        if s.carrier.carrier_code != "ridgeline":
            return []
        for ev in s.events:
            late = ev.published_at - ev.at > LATE_SECONDS
            (self.deferred if late else self.current)["214"].append((s, ev))
        for inv in s.carrier_invoices:
            # Supplemental invoices (detention raised after delivery) come in a later file.
            (self.deferred if inv.supplemental else self.current)["210"].append((s, inv))
        self.ridgeline_seen += 1
        done = []
        if self.ridgeline_seen % SHIPMENTS_PER_214_FILE == 0:
            done.append(self._flush("214"))
        if len(self.current["210"]) >= INVOICES_PER_210_FILE:
            done.append(self._flush("210"))
        return [f for f in done if f is not None]

    def finish(self) -> list[X12File]:
        """Flush what is left (including late items) into final files."""
        done = []
        for kind in ("214", "210"):
            while self.current[kind] or self.deferred[kind]:
                f = self._flush(kind)
                if f is not None:
                    done.append(f)
        return done

    def _flush(self, kind: str) -> X12File | None:
        items = self.current[kind]
        self.current[kind], self.deferred[kind] = self.deferred[kind], []
        if not items:
            return None
        world = self.world
        n = self.seq[kind]
        self.seq[kind] += 1
        self.total += 1
        ctrl = self.ctrl_base + self.total
        r = rng_for(world.seed, "x12file", kind, n)
        if kind == "214" and len(items) > 2 and r.random() < 0.4:
            # Out of order: the carrier's batch job does not sort by event time.
            a = r.randrange(len(items) - 1)
            items[a], items[a + 1] = items[a + 1], items[a]
        if kind == "214":
            bodies = [status_body(s, ev) for s, ev in items]
            created = max(ev.published_at for _, ev in items)
        else:
            bodies = [invoice_body(s, inv) for s, inv in items]
            created = max(inv.invoiced_at for _, inv in items)
        text = _segments_to_text(_envelope(kind, ctrl, created, bodies), n % len(STYLES))
        data = text.encode("ascii", "replace")
        name = f"{SENDER}_{kind}_{n + 1:06d}.edi"
        truncated = self.faults.file_truncated(world.seed, name)
        complete = len(bodies)
        if truncated:
            data = data[: max(40, int(len(data) * (0.5 + 0.4 * unit(world.seed, "cut", name))))]
            complete = complete_sets(text, n % len(STYLES), len(data))
        return X12File(
            name,
            kind,
            data,
            created,
            len(bodies),
            truncated,
            sorted({s.tracking_number for s, _ in items}),
            [(s.tracking_number, ev.seq) for s, ev in items] if kind == "214" else [],
            complete,
        )


def complete_sets(text: str, style: int, cut: int) -> int:
    """How many leading transaction sets of ``text`` (written in ``style``) end, SE segment and
    its terminator included, within the first ``cut`` characters."""
    elem, term, _ = STYLES[style]
    marker = f"{term}SE{elem}"
    count = 0
    at = text.find(marker)
    while at != -1:
        end = text.find(term, at + len(marker))
        if end == -1 or end + len(term) > cut:
            break
        count += 1
        at = text.find(marker, end)
    return count


def iter_x12_files(world: World, faults: FaultConfig | None = None) -> Iterator[X12File]:
    """Yield every Ridgeline 214 and 210 file of ``world`` in a stable order, streaming."""
    batcher = X12Batcher(world, faults)
    for s in world.iter_shipments():
        yield from batcher.add(s)
    yield from batcher.finish()
