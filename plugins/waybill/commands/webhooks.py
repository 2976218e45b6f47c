"""``waybill webhooks serve``: the carrier webhook receiver over HTTP (uvicorn)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``webhooks serve`` to the ``waybill`` parser."""
    webhooks = subparsers.add_parser("webhooks", help="receive carrier webhooks into raw")
    sub = webhooks.add_subparsers(dest="webhooks_command")
    serve = sub.add_parser(
        "serve",
        help="verify HMAC signatures and store events in raw.<carrier>__webhook_events",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument(
        "--insecure-dev",
        action="store_true",
        default=os.environ.get("WAYBILL_WEBHOOK_INSECURE_DEV") == "1",
        help="start even when a carrier has no secret (its webhooks are refused); never in"
        " production (also WAYBILL_WEBHOOK_INSECURE_DEV=1)",
    )
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    """Build the app and serve it; exit 2 naming the carriers without a secret."""
    from waybill import runtime
    from waybill.webhooks.limits import Limits
    from waybill.webhooks.receiver import MissingWebhookSecret, create_app
    from waybill.webhooks.server import build_server

    runtime.apply()
    try:
        limits = Limits.from_env()
        app = create_app(limits=limits, allow_missing_secrets=args.insecure_dev)
    except (MissingWebhookSecret, ValueError) as exc:
        print(f"waybill webhooks: refusing to start: {exc}", file=sys.stderr)
        return 2
    print(f"waybill webhooks: POST http://{args.host}:{args.port}/webhooks/<carrier>", flush=True)
    build_server(app, args.host, args.port, limits).run()
    return 0
