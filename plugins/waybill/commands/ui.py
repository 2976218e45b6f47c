"""``waybill ui`` (``make airflow``): Airflow's UI with the project's DAGs, ready to run.

Starts the scheduler, dag-processor, api-server and triggerer (:mod:`waybill.airflow_stack`;
``--executor celery`` adds redis-server and two Celery workers), generates the dbt docs that the
UI serves under *Browse → dbt Docs*, and, unless ``AIRFLOW_CONN_*`` variables are already set,
starts the sandbox and points every partner connection at it, so the DAGs run on first unpause.
Runs until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ui`` to the ``waybill`` parser."""
    ui = subparsers.add_parser(
        "ui", help="Airflow UI with the DAGs, the sandbox wired in and the dbt docs (make airflow)"
    )
    ui.add_argument("--port", type=int, default=8080, help="the UI's port (default 8080)")
    ui.add_argument("--executor", choices=("local", "celery"), default="local")
    ui.add_argument("--seed", type=int, default=42, help="the sandbox world's seed")
    ui.add_argument("--shipments", type=int, default=2000, help="the sandbox world's size")
    ui.set_defaults(func=_ui)


def _ui(args: argparse.Namespace) -> int:
    from waybill import dbt_docs, runtime, warehouse
    from waybill.airflow_stack import AirflowStack

    runtime.apply()
    docs = dbt_docs.generate()
    if docs is None:
        print(f"dbt docs: not generated (see {dbt_docs.LOG_FILE})", file=sys.stderr)
    executor = "CeleryExecutor" if args.executor == "celery" else "LocalExecutor"
    workdir = warehouse.state_dir() / "airflow" / "ui"
    with _partner_systems(args.seed, args.shipments) as env:
        stack = AirflowStack(workdir, executor=executor, env=env, port=args.port)
        print(f"starting Airflow ({executor}) …", flush=True)
        with stack:
            print(f"Airflow UI: {stack.base_url}  (user admin, password in {stack.passwords_file})")
            print(f"dbt docs:   {stack.base_url}{dbt_docs.UI_PATH}  (Browse → dbt Docs)")
            print(f"logs:       {workdir / 'logs'}   Ctrl-C stops everything", flush=True)
            try:
                while True:
                    stack.check_alive()
                    time.sleep(2)
            except KeyboardInterrupt:
                print("stopping …", flush=True)
    return 0


@contextlib.contextmanager
def _partner_systems(seed: int, shipments: int) -> Iterator[dict[str, str]]:
    """The connections' environment: nothing when ``AIRFLOW_CONN_*`` are set, else a sandbox's."""
    from waybill import runtime
    from waybill.demo import demo_inbound_dir, sandbox, sandbox_connections

    if any(name.startswith("AIRFLOW_CONN_") for name in os.environ):
        print("partner systems: the AIRFLOW_CONN_* variables already set")
        yield {}
        return
    token = secrets.token_urlsafe(24)
    folder = runtime.BUILD_DIR / "reports" / "airflow"
    folder.mkdir(parents=True, exist_ok=True)
    with sandbox(
        seed, shipments, 0.0, token, days=0, ledger=folder / "erp_ledger.jsonl", log_dir=folder
    ) as (base_url, _clock):
        print(f"partner systems: the sandbox at {base_url} (seed {seed}, {shipments} shipments)")
        yield {
            **sandbox_connections(base_url, token),
            "WAYBILL_INBOUND_DIR": str(demo_inbound_dir()),
        }
