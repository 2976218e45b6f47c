"""``waybill`` — the command line: warehouse, Airflow and dbt with the project's settings, the demo.

Subcommands from other packages (``waybill sandbox …``) plug in through the ``waybill.commands``
entry-point group, so this module never imports them by name. Imports are lazy: ``waybill
warehouse url`` does not pay for Airflow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from importlib.metadata import entry_points

BUILTIN_COMMANDS = (
    "waybill.commands.edi",
    "waybill.commands.carriers",
    "waybill.commands.webhooks",
    "waybill.commands.compose",
    "waybill.commands.backfill",
    "waybill.commands.ui",
)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return its exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "passthrough", False):
        args.extra = extra
    return int(args.func(args) or 0)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with the built-in and plugged-in subcommands."""
    parser = argparse.ArgumentParser(prog="waybill", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")

    wh = sub.add_parser("warehouse", help="the Postgres warehouse")
    wh_sub = wh.add_subparsers(dest="warehouse_command")
    url = wh_sub.add_parser(
        "url", help="print the warehouse's SQLAlchemy URL (starts the embedded one)"
    )
    url.add_argument(
        "--role", help="the URL a component's role connects with (its password included)"
    )
    url.set_defaults(func=_warehouse_url)
    env = wh_sub.add_parser("env", help="print the environment Waybill exports, as shell lines")
    env.add_argument("--show-secrets", action="store_true", help="print passwords instead of ***")
    env.set_defaults(func=_warehouse_env)
    migrate = wh_sub.add_parser(
        "migrate",
        help="create or update the roles, schemas, ops tables and grants (as WAREHOUSE_URL's login)",
    )
    migrate.set_defaults(func=_warehouse_migrate)

    for name, help_text in (
        ("airflow", "run the airflow CLI with the project's settings"),
        ("dbt", "run dbt in dbt_project/ with the project's settings"),
        ("exec", "run any command (e.g. sqlfluff) with the project's settings"),
    ):
        cmd = sub.add_parser(name, help=help_text, add_help=False)
        cmd.set_defaults(func=_passthrough, tool=name, passthrough=True)

    demo = sub.add_parser(
        "demo", help="run the whole pipeline against the sandbox and print a summary"
    )
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--shipments", type=int, default=2000)
    demo.add_argument("--faults", type=float, default=0.0)
    demo.add_argument(
        "--days",
        type=int,
        default=2,
        help="simulated days the world unfolds during the demo, one pipeline run per day"
        " after the first (default 2)",
    )
    demo.set_defaults(func=_demo)

    for module in BUILTIN_COMMANDS:
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    for entry in entry_points(group="waybill.commands"):
        try:
            register = entry.load()
        except ImportError as exc:  # a plugin that is not installed must not break the CLI
            print(f"waybill: command {entry.name!r} unavailable: {exc}", file=sys.stderr)
            continue
        register(sub)
    return parser


def _warehouse_url(args: argparse.Namespace) -> int:
    from waybill import warehouse

    if args.role:
        from waybill import roles

        roles.ensure_migrated(role=args.role)
    print(warehouse.sqlalchemy_url(role=args.role))
    return 0


def _warehouse_env(args: argparse.Namespace) -> int:
    import shlex

    from waybill import runtime

    environment = runtime.environment({})
    if not args.show_secrets:
        environment = runtime.masked(environment)
    for key, value in sorted(environment.items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _warehouse_migrate(args: argparse.Namespace) -> int:
    from waybill import roles, warehouse

    names = roles.migrate()
    print(f"migrated {warehouse.location().masked().url('postgresql')}")
    for component, name in names.items():
        print(f"  {component:<12} {name}")
    return 0


def _passthrough(args: argparse.Namespace) -> int:
    from waybill import runtime

    runtime.apply()
    if args.tool == "dbt":
        from waybill import roles

        roles.ensure_migrated(role="transformer")  # dbt logs in as the transformer role
    # Tools spawn their own helpers by name (airflow standalone runs `airflow scheduler` …).
    venv_bin = os.path.dirname(sys.executable)
    os.environ["PATH"] = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])
    argv = list(args.extra) if args.tool == "exec" else [args.tool, *args.extra]
    if not argv:
        print("waybill exec: give a command to run", file=sys.stderr)
        return 2
    venv_tool = os.path.join(venv_bin, argv[0])
    if os.path.exists(venv_tool):
        argv[0] = venv_tool
    cwd = runtime.DBT_PROJECT_DIR if args.tool == "dbt" else None
    return subprocess.call(argv, cwd=cwd)


def _demo(args: argparse.Namespace) -> int:
    from waybill.demo import run_demo

    return run_demo(seed=args.seed, shipments=args.shipments, faults=args.faults, days=args.days)


if __name__ == "__main__":
    sys.exit(main())
