"""Sandbox generation at scale: stream 1,000,000 shipments' file feeds and measure speed and memory.

The generator runs in a child process that reports its own peak RSS (``getrusage(RUSAGE_SELF)``),
so the figure is the generator's alone, not the largest of every child ``make bench`` started.
Set ``WAYBILL_BENCH_SANDBOX_SHIPMENTS`` to try another scale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

SHIPMENTS = int(os.environ.get("WAYBILL_BENCH_SANDBOX_SHIPMENTS", "1000000"))
SEED = 42

CHILD = """
import json, resource, sys, time
from pathlib import Path
from waybill_sandbox.files import write_feeds
from waybill_sandbox.world import World

shipments, out = int(sys.argv[1]), Path(sys.argv[2])
started = time.perf_counter()
manifest = write_feeds(World(int(sys.argv[3]), shipments), out)
seconds = time.perf_counter() - started
size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_kb": peak_kb, "files": len(manifest["files"]),
                  "bytes": size}))
"""


def run(results: dict) -> None:
    """Generate ``SHIPMENTS`` shipments' feeds in a subprocess; record throughput and peak RSS.

    Writes ``sandbox.shipments_per_s`` and ``sandbox.peak_rss_mb`` into ``results``.
    Raises ``RuntimeError`` with the child's stderr if generation fails.
    """
    with tempfile.TemporaryDirectory(prefix="waybill-bench-sandbox-") as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(SHIPMENTS), tmp, str(SEED)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(
            f"sandbox generation of {SHIPMENTS} shipments failed:\n{proc.stderr[-2000:]}"
        )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    results["sandbox.shipments_per_s"] = round(SHIPMENTS / report["seconds"], 1)
    results["sandbox.peak_rss_mb"] = round(report["peak_rss_kb"] / 1024, 1)


if __name__ == "__main__":
    figures: dict = {}
    run(figures)
    print(json.dumps(figures, indent=1))
