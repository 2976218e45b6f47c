"""Run the benchmarks and write ``build/bench/results.json`` (one flat object, figure name → number).

    python -m benchmarks                 every bench_*.py
    python -m benchmarks ingest sandbox  only those areas

Figures are ratios against a baseline measured in the same run wherever one exists (machines here
are shared and noisy); absolute rates are reported beside them for context.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "build" / "bench" / "results.json"


def main(areas: list[str]) -> int:
    """Run the chosen benchmark modules; return non-zero if any of them raised."""
    from waybill import runtime

    runtime.apply()
    modules = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    chosen = [m for m in modules if not areas or m.removeprefix("bench_") in areas]
    results: dict[str, float] = {}
    if RESULTS.exists():  # keep figures of areas not run this time
        results.update(json.loads(RESULTS.read_text()))
    failed = []
    for name in chosen:
        started = time.monotonic()
        print(f"== {name}", flush=True)
        try:
            importlib.import_module(f"benchmarks.{name}").run(results)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    width = max((len(k) for k in results), default=10)
    print(f"\n{'figure':<{width}}  value")
    for key, value in sorted(results.items()):
        print(f"{key:<{width}}  {value:g}")
    print(f"\nwritten: {RESULTS}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
