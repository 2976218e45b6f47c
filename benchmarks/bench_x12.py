"""X12 parsing at scale: `waybill edi parse --no-segments` over a generated 100 MB file of 214s.

Records ``ingest.x12_mb_per_s`` and ``ingest.x12_peak_rss_mb`` (the names issue 12 asks for:
the parse is what X12 ingestion runs per file). The parse runs in a child process that reports
its own peak RSS (``getrusage(RUSAGE_SELF)``), so the figure is the parse's alone; it must stay
flat in the file size (goal: under 300 MB at 100 MB). The file is one interchange, one group,
as many 214s as fit — the worst case for anything kept per set. ``WAYBILL_BENCH_X12_MB`` sets
another size for a quick run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

MEGABYTES = float(os.environ.get("WAYBILL_BENCH_X12_MB", "100"))

CHILD = """
import json, resource, sys, time
from waybill.cli import main

class Lines:
    count = 0
    def write(self, text):
        self.count += text.count("\\n")
    def flush(self):
        pass

lines = Lines()
sys.stdout = lines
started = time.perf_counter()
status = main(["edi", "parse", "--no-segments", sys.argv[1]])
seconds = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.__stdout__.write(json.dumps({"seconds": seconds, "peak_rss_kb": peak_kb,
                                 "sets": lines.count, "status": status}) + "\\n")
"""


def write_214_file(path: Path, megabytes: float) -> int:
    """Write one interchange of 214s of about `megabytes` MB to `path`; return the set count.

    Each set has a B10, L11, N1/N3/N4 parties and two LX/AT7/MS1/MS2/AT8 events, with values
    varying by set, as a carrier's status feed does.
    """
    target = int(megabytes * 1_000_000)
    head = (
        "ISA*00*          *00*          *02*RDGL           *ZZ*WAYBILL        "
        "*240102*0304*U*00401*000000001*0*P*>~\n"
        "GS*QM*RDGL*WAYBILL*20240102*0304*1*X*004010~\n"
    )
    sets = 0
    size = len(head)
    with path.open("w", encoding="ascii", newline="") as handle:
        handle.write(head)
        while size < target:
            sets += 1
            control = f"{sets:09d}"
            body = [
                f"ST*214*{control}",
                f"B10*PRO{sets:010d}*SHIP{sets:08d}*RDGL",
                f"L11*PO{sets % 99991:07d}*PO",
                "N1*SH*ACME DISTRIBUTION*93*SH0042",
                "N3*100 MAIN STREET",
                "N4*CHICAGO*IL*60601*US",
                "N1*CN*CONSIGNEE INC*93*CN7781",
                "N4*BOSTON*MA*02110*US",
                "LX*1",
                f"AT7*X6*NS***202401{1 + sets % 28:02d}*{sets % 2400:04d}*CT",
                "MS1*TOLEDO*OH*US",
                f"MS2*RDGL*TRL{sets % 9999:04d}*TL",
                "AT8*G*L*1250*4",
                "LX*2",
                f"AT7*D1*NS***202401{1 + sets % 28:02d}*{(sets + 7) % 2400:04d}*ET",
                "MS1*BOSTON*MA*US",
            ]
            body.append(f"SE*{len(body) + 1}*{control}")
            text = "~\n".join(body) + "~\n"
            handle.write(text)
            size += len(text)
        handle.write(f"GE*{sets}*1~\nIEA*1*000000001~\n")
    return sets


def run(results: dict) -> None:
    """Generate the file, parse it in a child process, and add the two figures to `results`.

    Raises RuntimeError with the child's stderr when the parse fails or misses sets.
    """
    with tempfile.TemporaryDirectory(prefix="waybill-bench-x12-") as tmp:
        path = Path(tmp) / "status_214.edi"
        sets = write_214_file(path, MEGABYTES)
        size = path.stat().st_size
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"edi parse of {size} bytes failed:\n{proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["status"] != 0 or report["sets"] != sets:
        raise RuntimeError(
            f"edi parse exited {report['status']} with {report['sets']} of {sets} sets:\n"
            f"{proc.stderr[-2000:]}"
        )
    results["ingest.x12_mb_per_s"] = round(size / 1_000_000 / report["seconds"], 2)
    results["ingest.x12_peak_rss_mb"] = round(report["peak_rss_kb"] / 1024, 1)
    print(
        f"   {size / 1e6:.1f} MB, {sets} sets of 214 in {report['seconds']:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    figures: dict = {}
    run(figures)
    print(json.dumps(figures, indent=1))
