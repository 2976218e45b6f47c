"""``waybill backfill``: re-ingest a closed interval of one source entity, then rebuild what reads it."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``backfill`` to the ``waybill`` parser."""
    backfill = subparsers.add_parser(
        "backfill",
        help="re-ingest the records of one source entity updated in [--from, --to] (UTC days),"
        " idempotently, then rebuild the dbt models downstream of it",
    )
    backfill.add_argument("--source", required=True, help="a source of include/sources.yaml")
    backfill.add_argument("--entity", required=True, help="one of the source's entities")
    backfill.add_argument("--from", dest="start", required=True, type=date.fromisoformat)
    backfill.add_argument("--to", dest="end", required=True, type=date.fromisoformat)
    backfill.add_argument(
        "--no-rebuild",
        action="store_true",
        help="only land the records (the transform DAG rebuilds on its next run)",
    )
    backfill.set_defaults(func=_backfill)


def _backfill(args: argparse.Namespace) -> int:
    """Land the interval, print its counts as JSON, rebuild downstream; exit 2 on a bad request."""
    from waybill import runtime
    from waybill.backfill import BackfillUnsupported, backfill_entity, rebuild_downstream

    runtime.apply()
    try:
        counts = backfill_entity(args.source, args.entity, args.start, args.end, run_id="cli")
    except (BackfillUnsupported, ValueError, KeyError) as exc:
        print(f"waybill backfill: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(counts), flush=True)
    if args.no_rebuild:
        return 0
    return rebuild_downstream(args.source, args.entity)
