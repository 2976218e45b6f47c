"""``waybill compose env`` and ``waybill compose run``: the docker-compose stack's secrets and entrypoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from waybill.compose_env import PROJECT_ROOT

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compose env`` and ``compose run`` to the ``waybill`` parser."""
    compose = subparsers.add_parser("compose", help="the docker-compose stack")
    sub = compose.add_subparsers(dest="compose_command")
    env = sub.add_parser("env", help="write a git-ignored .env with fresh random secrets")
    env.add_argument("--file", type=Path, default=PROJECT_ROOT / ".env")
    env.set_defaults(func=_env)
    run = sub.add_parser(
        "run",
        help="exec a command with the environment derived from WAREHOUSE_URL (the dbt profile's)",
        add_help=False,
    )
    run.set_defaults(func=_run, passthrough=True)


def _env(args: argparse.Namespace) -> int:
    from waybill.compose_env import run

    return run(args.file)


def _run(args: argparse.Namespace) -> int:
    """Export :func:`waybill.runtime.environment` (only names not already set), then exec the command.

    The containers' one warehouse address is ``WAREHOUSE_URL``; this derives ``WAREHOUSE_HOST`` …
    for the dbt profile from it. ``exec`` replaces this process, so signals reach the command.
    """
    from waybill import runtime

    argv = list(args.extra)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("waybill compose run: give a command to run")
        return 2
    runtime.apply()
    os.execvp(argv[0], argv)
    return 0  # not reached: execvp replaces the process
