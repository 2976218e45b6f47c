"""``waybill sandbox serve|generate|truth|advance``: contributed to the ``waybill`` CLI via an entry point.

Also runnable on its own: ``python -m waybill_sandbox.cli sandbox truth --seed 42 --shipments 50``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path

from waybill_sandbox.faults import FaultConfig

DEFAULT_CHANGES = 0.08


def _world(args: argparse.Namespace):
    from waybill_sandbox.world import World

    if not 0.0 <= args.changes <= 1.0:
        raise ValueError(f"--changes: rate {args.changes} outside 0..1")
    return World(args.seed, args.shipments, start=args.start, days=args.days, changes=args.changes)


def _faults(args: argparse.Namespace) -> FaultConfig:
    return FaultConfig.parse(args.faults)


def _guarded(fn):
    """Turn bad options and I/O errors into one clear line on stderr and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): not an error for a printing command.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except (ValueError, OSError) as exc:
            print(f"waybill sandbox {args.sandbox_command}: {exc}", file=sys.stderr)
            return 2

    run.__doc__ = fn.__doc__
    return run


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the partner systems over HTTP until interrupted."""
    import uvicorn

    from waybill_sandbox.app import create_app
    from waybill_sandbox.files import write_feeds
    from waybill_sandbox.server import resolve_clock
    from waybill_sandbox.timefmt import iso_utc

    world = _world(args)
    faults = _faults(args)
    clock = resolve_clock(world, args.clock)
    inbound = Path(args.inbound) if args.inbound else None
    if inbound is not None:
        write_feeds(world, inbound, faults)
    app = create_app(
        world,
        faults,
        erp_rate_limit=args.erp_rate_limit,
        inbound=inbound,
        clock=clock,
        ledger=Path(args.ledger) if args.ledger else None,
        crm_ledger=Path(args.crm_ledger) if args.crm_ledger else None,
        crm_rate_limit=args.crm_rate_limit,
    )
    print(
        f"waybill sandbox: seed={world.seed} shipments={world.n} clock={iso_utc(clock)} "
        f"on http://{args.host}:{args.port}",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Write the file feeds (WMS CSV, Ridgeline X12) and manifest.json to ``--out``."""
    from waybill_sandbox.files import write_feeds

    manifest = write_feeds(_world(args), Path(args.out), _faults(args))
    print(json.dumps({"out": str(args.out), "files": len(manifest["files"])}))
    return 0


def cmd_truth(args: argparse.Namespace) -> int:
    """Print (or write to ``--out``) the truth JSON."""
    from waybill_sandbox.server import resolve_clock
    from waybill_sandbox.truth import write_truth

    world = _world(args)
    if args.tick_hours <= 0:
        raise ValueError(f"--tick-hours: must be positive, got {args.tick_hours}")
    if args.missing_pod_hours < 0:
        raise ValueError(f"--missing-pod-hours: must be >= 0, got {args.missing_pod_hours}")
    options = {
        "clock": resolve_clock(world, args.clock),
        "tick_hours": args.tick_hours,
        "missing_pod_hours": args.missing_pod_hours,
        "pushed": frozenset(c for c in args.pushed_carriers.split(",") if c),
    }
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            write_truth(world, fh, _faults(args), **options)
    else:
        write_truth(world, sys.stdout, _faults(args), **options)
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    """Advance a running sandbox's clock by ``--hours`` and print the new clock."""
    import httpx

    token = args.token or os.environ.get("WAYBILL_SANDBOX_ERP_TOKEN") or "sandbox-erp-token"
    try:
        response = httpx.post(
            args.url.rstrip("/") + "/admin/clock",
            json={"advance_hours": args.hours},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60.0,
        )
    except httpx.HTTPError as exc:
        raise OSError(f"--url {args.url}: {exc}") from None
    if response.status_code != 200:
        raise ValueError(f"POST /admin/clock answered {response.status_code}: {response.text}")
    print(json.dumps(response.json()))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=42, help="world seed (default 42)")
    p.add_argument("--shipments", type=int, default=2000, help="number of shipments (default 2000)")
    p.add_argument(
        "--start",
        type=date.fromisoformat,
        default=None,
        help="first day, YYYY-MM-DD (default 2025-01-06)",
    )
    p.add_argument(
        "--days", type=int, default=None, help="days covered (default: shipments/40, 7..365)"
    )
    p.add_argument(
        "--faults",
        default="0",
        help="fault rate for every system (0.1) or per system (erp=0.1,carriers=0.2); default 0",
    )
    p.add_argument(
        "--changes",
        type=float,
        default=DEFAULT_CHANGES,
        help=f"share of billable shipments changed after delivery (default {DEFAULT_CHANGES})",
    )


def _clock_option(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--clock", default="END", help=help_text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` command (serve, generate, truth, advance) to an argparse subparsers
    object."""
    sandbox = subparsers.add_parser(
        "sandbox", help="simulated ERP/WMS/TMS/carriers: serve, generate, truth, advance"
    )
    sandbox.set_defaults(func=lambda args: (sandbox.print_help(sys.stderr), 2)[1])
    sub = sandbox.add_subparsers(dest="sandbox_command")

    serve = sub.add_parser("serve", help="serve the partner systems over HTTP")
    _common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--inbound", default=None, help="also drop the file feeds into this folder")
    serve.add_argument(
        "--erp-rate-limit",
        type=float,
        default=0.0,
        help="max invoice posts per second, 429 beyond (default 0 = off)",
    )
    serve.add_argument("--log-level", default="warning")
    _clock_option(serve, "the sandbox clock at start: START, END (default), END-<H>h or ISO-8601")
    serve.add_argument(
        "--ledger", default=None, help="append one JSON line per accepted ERP document here"
    )
    serve.add_argument(
        "--crm-ledger", default=None, help="append one JSON line per accepted CRM write here"
    )
    serve.add_argument(
        "--crm-rate-limit",
        type=float,
        default=0.0,
        help="CRM records written per second, 429 beyond (default 0 = off)",
    )
    serve.set_defaults(func=_guarded(cmd_serve))

    generate = sub.add_parser("generate", help="write the file feeds (X12, CSV) to a folder")
    _common(generate)
    generate.add_argument("--out", required=True, help="output folder")
    generate.set_defaults(func=_guarded(cmd_generate))

    truth = sub.add_parser("truth", help="print the truth JSON")
    _common(truth)
    truth.add_argument("--out", default=None, help="write to this file instead of stdout")
    _clock_option(
        truth, "the billing oracle's first tick: START, END (default), END-<H>h or ISO-8601"
    )
    truth.add_argument(
        "--tick-hours",
        type=float,
        default=24.0,
        help="the billing oracle runs every H hours from --clock to the horizon (default 24)",
    )
    truth.add_argument(
        "--missing-pod-hours",
        type=float,
        default=48.0,
        help="a CRM case for a missing POD once delivered this many hours ago (default 48)",
    )
    truth.add_argument(
        "--pushed-carriers",
        default="",
        help="comma-separated carriers whose events the pipeline also receives as webhooks",
    )
    truth.set_defaults(func=_guarded(cmd_truth))

    advance = sub.add_parser("advance", help="advance a running sandbox's clock")
    advance.add_argument("--hours", type=float, required=True, help="hours to advance")
    advance.add_argument("--url", required=True, help="the sandbox's base URL")
    advance.add_argument(
        "--token", default=None, help="ERP token (default env WAYBILL_SANDBOX_ERP_TOKEN)"
    )
    advance.set_defaults(func=_guarded(cmd_advance))


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: ``python -m waybill_sandbox.cli sandbox …``
    (``sandbox`` may be omitted).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("serve", "generate", "truth", "advance"):
        argv = ["sandbox", *argv]
    parser = argparse.ArgumentParser(prog="waybill")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
