"""Airflow as it runs in production, on this machine: scheduler, dag-processor, api-server and
triggerer as separate processes, with the LocalExecutor or the CeleryExecutor (a private
``redis-server`` and Celery workers, each in its own working directory).

``make airflow`` (``waybill airflow-ui``), the real-scheduler tests and the benchmarks use
:class:`AirflowStack`; it talks to Airflow only through its REST API (``/api/v2``), as a user
or a script would::

    with AirflowStack(workdir, executor="CeleryExecutor", env=connections) as stack:
        stack.unpause("ingest_erp")
        run = stack.wait_for_run("ingest_erp", stack.trigger("ingest_erp"))

Every component gets the project's environment (:func:`waybill.runtime.environment`) plus what a
multi-process deployment must share: one JWT secret, the api-server's URL for the task
execution API, and the UI's login (``admin`` with a random password written to
``<workdir>/passwords.json``). Each process logs to ``<workdir>/logs/<name>.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from waybill import runtime

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

EXECUTORS = ("LocalExecutor", "CeleryExecutor")
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
HEALTHY_TIMEOUT_S = 240
UI_USER = "admin"
FINISHED = ("success", "failed")


class StackError(RuntimeError):
    """A component exited or did not become healthy; the message carries the tail of its log."""


def worker_hostname() -> str:
    """The host name a task instance records: the Celery worker's name on a shared machine
    (``$WAYBILL_WORKER_NAME``, set per worker), else this machine's (Airflow's
    ``[core] hostname_callable`` for the stack's workers)."""
    return os.environ.get("WAYBILL_WORKER_NAME") or socket.getfqdn()


def _metadata_database(name: str, *, create: bool) -> str:
    """Drop the database ``name`` on the warehouse's server (its sessions too), then, with
    ``create``, create it again, closed to every role but its owner; return its URL."""
    import psycopg
    from psycopg import sql

    from waybill import warehouse

    server = warehouse.location()
    target = sql.Identifier(name)
    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(target))
        if create:
            conn.execute(sql.SQL("create database {}").format(target))
            conn.execute(sql.SQL("revoke all on database {} from public").format(target))
    return server.url("postgresql+psycopg2", database=name)


def _utc_now_iso() -> str:
    """Now in UTC, formatted as the REST API formats its times (``…T…Z``)."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AirflowStack:
    """Start, watch and stop a multi-process Airflow; drive it over its REST API.

    ``workdir`` holds the logs, the login and the Celery workers' folders; ``env`` is added to
    every component's environment (e.g. ``AIRFLOW_CONN_*``); ``port`` is the api-server's
    (a free one when 0); ``parallelism`` caps the tasks running at once (Airflow's
    ``[core] parallelism``); ``workers`` × ``worker_concurrency`` are the Celery workers and the
    tasks each runs at once (CeleryExecutor only).
    ``metadata_database`` names a fresh metadata DB on the warehouse's server, created (dropped
    first) on start and dropped on stop: runs, pauses and queued Asset events of an earlier stack
    then cannot leak in (tests and benchmarks); default: the configured metadata DB.
    """

    workdir: Path
    executor: str = "LocalExecutor"
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    workers: int = 2
    worker_concurrency: int = 4
    parallelism: int = 8
    metadata_database: str | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, init=False)
    password: str = field(default="", init=False)
    _token: str | None = field(default=None, init=False)
    _secrets: dict[str, str] = field(default_factory=dict, init=False)
    _ports: dict[str, int] = field(default_factory=dict, init=False)
    _metadata_url: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, not {self.executor!r}")
        self.workdir = Path(self.workdir)
        self.port = self.port or free_port()
        self._ports = {name: free_port() for name in ("logs", "trigger_logs", "redis")}

    @property
    def base_url(self) -> str:
        """The api-server (UI and REST API)."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> AirflowStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- processes ---------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """The environment every component runs with (secrets included: never print it)."""
        env = {**os.environ, **runtime.environment(), **self.env}
        # A busy machine parses transform_warehouse (cosmos, ~200 tasks) slowly; a task must not
        # fail for that, nor dozens of task processes fight over two cores.
        env.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "300")
        env.setdefault("AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT", "300")
        env.setdefault("AIRFLOW__CORE__PARALLELISM", str(self.parallelism))
        # A task's calls to the api-server (start, heartbeat) time out after 5 s by default: a busy
        # api-server then fails tasks before they start, and retries wait minutes.
        env.setdefault("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "60")
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt"),
                "AIRFLOW__API__SECRET_KEY": self._secret("api"),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._ports["logs"]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._ports["trigger_logs"]),
                "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            }
        )
        if self._metadata_url:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self._metadata_url
        if self.executor == "CeleryExecutor":
            broker = f"redis://127.0.0.1:{self._ports['redis']}"
            env["AIRFLOW__CELERY__BROKER_URL"] = f"{broker}/0"
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"{broker}/1"
        return env

    @property
    def passwords_file(self) -> Path:
        """The UI login: ``{"admin": "<password>"}`` (the simple auth manager's passwords file)."""
        return self.workdir / "passwords.json"

    def _secret(self, name: str) -> str:
        if name not in self._secrets:
            self._secrets[name] = secrets.token_urlsafe(32)
        return self._secrets[name]

    def start(self) -> None:
        """Migrate the metadata DB, start every component and wait until they are healthy.

        Raises :class:`StackError` when a component exits or the stack is not healthy within
        :data:`HEALTHY_TIMEOUT_S` seconds (the stack is stopped first).
        """
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        self.password = secrets.token_urlsafe(12)
        self.passwords_file.write_text(json.dumps({UI_USER: self.password}) + "\n")
        self.passwords_file.chmod(0o600)
        if self.metadata_database:
            self._metadata_url = self._create_metadata_database()
        env = self.environment()
        migrated = subprocess.run(
            ["airflow", "db", "migrate"], env=env, capture_output=True, text=True, check=False
        )
        if migrated.returncode != 0:
            raise StackError(f"airflow db migrate failed:\n{migrated.stdout}\n{migrated.stderr}")
        try:
            if self.executor == "CeleryExecutor":
                self._start_redis(env)
            for component in COMPONENTS:
                argv = ["airflow", component]
                if component == "api-server":
                    argv += ["--port", str(self.port), "--host", "127.0.0.1", "--workers", "1"]
                self._spawn(component, argv, env)
            if self.executor == "CeleryExecutor":
                for number in range(1, self.workers + 1):
                    self._start_worker(number, env)
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def _create_metadata_database(self) -> str:
        """(Re)create :attr:`metadata_database` on the warehouse's server; return its URL."""
        return _metadata_database(self.metadata_database or "", create=True)

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str], cwd: Path | None = None):
        log = (self.workdir / "logs" / f"{name}.log").open("w")
        # A process group of its own: stop() ends the component and the children it forked.
        self.processes[name] = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=cwd or self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def _start_redis(self, env: Mapping[str, str]) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise StackError("CeleryExecutor needs redis-server (apt-get install redis-server)")
        folder = self.workdir / "redis"
        folder.mkdir(exist_ok=True)
        argv = [redis, "--bind", "127.0.0.1", "--port", str(self._ports["redis"])]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
        self._spawn("redis", argv, env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self._ports["redis"]), timeout=1):
                    return
            except OSError:
                self.check_alive()
                time.sleep(0.2)
        raise StackError(f"redis-server did not listen within 30 s:\n{self.log_tail('redis')}")

    def _start_worker(self, number: int, env: Mapping[str, str]) -> None:
        # Each worker its own folder, as on its own machine: a task may rely on nothing another
        # task left in a working directory (shared artifacts go to waybill.artifacts).
        folder = self.workdir / f"worker-{number}"
        folder.mkdir(exist_ok=True)
        worker_env = {
            **env,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "WAYBILL_BUILD_DIR": str(folder / "build"),
            "WAYBILL_WORKER_NAME": f"worker{number}",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname",
        }
        argv = ["airflow", "celery", "worker", "--celery-hostname", f"worker{number}@%h"]
        argv += ["--concurrency", str(self.worker_concurrency), "--without-gossip"]
        argv += ["--without-mingle"]
        self._spawn(f"worker-{number}", argv, worker_env, cwd=folder)

    def check_alive(self) -> None:
        """Raise :class:`StackError` naming the first component that exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last ``lines`` lines of a component's log."""
        path = self.workdir / "logs" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_until_healthy(self, timeout: float = HEALTHY_TIMEOUT_S) -> dict[str, Any]:
        """Wait until ``/api/v2/monitor/health`` reports every component healthy; return it."""
        deadline = time.monotonic() + timeout
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                response = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
                health = response.json() if response.ok else {}
            except (requests.RequestException, ValueError):
                health = {}
            wanted = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if (
                health
                and all((health.get(part) or {}).get("status") == "healthy" for part in wanted)
                and (self.executor != "CeleryExecutor" or self._workers_ready())
            ):
                return health
            time.sleep(1)
        raise StackError(f"Airflow not healthy within {timeout:.0f} s: {health}")

    def _workers_ready(self) -> bool:
        ready = "ready."
        return all(
            ready in (self.workdir / "logs" / f"worker-{n}.log").read_text(errors="replace")
            for n in range(1, self.workers + 1)
        )

    def stop(self) -> None:
        """Stop every component (SIGTERM to its process group, SIGKILL after 20 s)."""
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()
        if self._metadata_url and self.metadata_database:
            _metadata_database(self.metadata_database, create=False)
            self._metadata_url = None

    # -- REST API ----------------------------------------------------------------------------

    def token(self) -> str:
        """A JWT for the REST API, logged in as :data:`UI_USER` (cached)."""
        if self._token is None:
            response = requests.post(
                f"{self.base_url}/auth/token",
                json={"username": UI_USER, "password": self.password},
                timeout=30,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/api/v2/<path>``; return the JSON body; raise :class:`StackError` on an HTTP
        error (a 5xx or a dropped connection is tried twice more first: a busy metadata DB)."""
        for attempt in range(3):
            try:
                response = requests.request(
                    method,
                    f"{self.base_url}/api/v2/{path.lstrip('/')}",
                    headers={"Authorization": f"Bearer {self.token()}"},
                    timeout=60,
                    **kwargs,
                )
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(2)
                continue
            if response.status_code < 500 or attempt == 2:
                break
            time.sleep(2)
        if not response.ok:
            raise StackError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def fail_unfinished_runs(self, dag_ids: Iterable[str]) -> int:
        """Mark every queued or running run of ``dag_ids`` failed (left over in a shared
        metadata DB by a stack that was stopped mid-run); return how many."""
        count = 0
        for dag_id in dag_ids:
            for run in self.runs(dag_id):
                if run["state"] in ("queued", "running"):
                    self.api(
                        "PATCH",
                        f"dags/{dag_id}/dagRuns/{run['dag_run_id']}",
                        json={"state": "failed"},
                    )
                    count += 1
        return count

    def dag_ids(self) -> set[str]:
        """The DAGs the dag-processor has parsed so far."""
        body = self.api("GET", "dags", params={"limit": 1000})
        return {dag["dag_id"] for dag in body["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        """The DAG files that failed to import (file and stack trace)."""
        return self.api("GET", "importErrors", params={"limit": 1000})["import_errors"]

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 300) -> None:
        """Wait until every DAG in ``dag_ids`` is parsed; raise naming the missing ones, or the
        import errors as soon as there are any."""
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            missing = wanted - self.dag_ids()
            if not missing:
                return
            errors = self.import_errors()
            if errors:
                files = {error["filename"]: error["stack_trace"][-800:] for error in errors}
                raise StackError(f"DAG import errors (missing {sorted(missing)}): {files}")
            time.sleep(2)
        raise StackError(f"DAGs not parsed within {timeout:.0f} s: {sorted(missing)}")

    def unpause(self, dag_id: str) -> None:
        """Unpause ``dag_id`` (the scheduler then runs it on its schedule or Assets)."""
        self.api("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def unpause_and_run(self, dag_id: str, timeout: float = 120) -> str:
        """Unpause ``dag_id`` and return the id of the run that follows: the scheduled run the
        scheduler creates on unpausing when one is due, else a manual run triggered now (so a
        DAG whose interval already ran is not run twice, nor left waiting for its next one)."""
        due = self.api("GET", f"dags/{dag_id}").get("next_dagrun_run_after")
        now = _utc_now_iso()
        self.unpause(dag_id)
        if not due or due > now:
            return self.trigger(dag_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            for run in self.runs(dag_id):
                if run["run_type"] == "scheduled" and run["run_after"] >= due:
                    return run["dag_run_id"]
            time.sleep(1)
        raise StackError(f"the scheduler created no run of {dag_id} due at {due}")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger a manual run of ``dag_id`` now; return its run id."""
        body = self.api(
            "POST", f"dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )
        return body["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id``, newest first (``dag_run_id``, ``state``, ``run_type``, times)."""
        body = self.api("GET", f"dags/{dag_id}/dagRuns", params={"order_by": "-id", "limit": 100})
        return body["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict[str, Any]:
        """Wait until the run ends; return it (its ``state`` says how)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            run = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in FINISHED:
                return run
            time.sleep(2)
        raise StackError(f"{dag_id} run {run_id} not finished within {timeout:.0f} s")

    def wait_for_run_caused_by(
        self, dag_id: str, source_dag_id: str, source_run_id: str, timeout: float = 1800
    ) -> dict[str, Any]:
        """Wait for the run of ``dag_id`` that an Asset event of the run ``source_run_id`` of
        ``source_dag_id`` triggered, and for it to end; return it (its ``state`` says how).

        The way to follow an Asset chain: each run's upstream Asset events name the run that
        emitted them.
        """
        deadline = time.monotonic() + timeout
        checked: set[str] = set()
        while time.monotonic() < deadline:
            self.check_alive()
            for run in self.runs(dag_id):
                run_id = run["dag_run_id"]
                if run["run_type"] != "asset_triggered" or run_id in checked:
                    continue
                events = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents")
                if any(
                    event.get("source_dag_id") == source_dag_id
                    and event.get("source_run_id") == source_run_id
                    for event in events["asset_events"]
                ):
                    return self.wait_for_run(
                        dag_id, run_id, timeout=max(1.0, deadline - time.monotonic())
                    )
                if run["state"] not in ("queued",):  # a queued run may still gather events
                    checked.add(run_id)
            time.sleep(2)
        raise StackError(
            f"no run of {dag_id} was triggered by {source_dag_id} {source_run_id}"
            f" within {timeout:.0f} s"
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``task_id[map_index]`` → state of every task instance of the run."""
        body = self.api(
            "GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
        )
        return {
            (f"{ti['task_id']}[{ti['map_index']}]" if ti["map_index"] >= 0 else ti["task_id"]): ti[
                "state"
            ]
            for ti in body["task_instances"]
        }
