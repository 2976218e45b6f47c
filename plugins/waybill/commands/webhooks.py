"""``waybill webhooks serve``: the carrier webhook receiver over HTTP (uvicorn)."""

from __future__ import annotations

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
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from waybill import runtime
    from waybill.webhooks.receiver import create_app

    runtime.apply()
    print(f"waybill webhooks: POST http://{args.host}:{args.port}/webhooks/<carrier>", flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")
    return 0
