"""A minimal real-scheduler harness for the benchmarks: Airflow's scheduler, dag-processor,
triggerer and api-server (LocalExecutor) as child processes on the embedded Postgres.

Not a test fixture and not the project's runner (``waybill.orchestration.runner`` runs
``dag.test()`` in one process): the benchmarks measure the platform as it is scheduled, so they
start the four components the way a deployment does, with the DAGs unpaused, and watch the
metadata database for the runs.

    with running_airflow(extra_env) as airflow:
        run_id = airflow.trigger("transform_warehouse")
        run = airflow.wait_for_run("transform_warehouse", run_id, timeout=600)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")
USER, PASSWORD = "admin", "bench-admin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningAirflow:
    """Handles to a running Airflow: its environment and its API's base URL."""

    env: dict[str, str]
    api_url: str
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _token: str | None = None

    def token(self) -> str:
        """A bearer token for the public REST API (the simple auth manager's admin)."""
        if self._token is None:
            response = requests.post(
                f"{self.api_url}/auth/token",
                json={"username": USER, "password": PASSWORD},
                timeout=30,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/api/v2<path>``; return the decoded JSON (raises on an HTTP error)."""
        response = requests.request(
            method,
            f"{self.api_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 300) -> None:
        """Wait until the dag-processor has serialized every DAG in ``dag_ids``, then unpause them."""
        deadline = time.monotonic() + timeout
        missing = set(dag_ids)
        while missing and time.monotonic() < deadline:
            self.check_alive()
            known = {d["dag_id"] for d in self.api("GET", "/dags", params={"limit": 500})["dags"]}
            missing = set(dag_ids) - known
            if missing:
                time.sleep(2)
        if missing:
            raise TimeoutError(f"DAGs not parsed within {timeout}s: {sorted(missing)}")
        for dag_id in dag_ids:
            self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        """Trigger ``dag_id`` now; return the run id."""
        body = {"logical_date": None}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id``, oldest first."""
        params = {"order_by": "run_after", "limit": 100}
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params=params)["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> dict[str, Any]:
        """Wait until the run ends; return it (raises if it did not succeed or timed out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                if run["state"] != "success":
                    raise RuntimeError(
                        f"{dag_id} {run_id} ended {run['state']}: {self.failed(run)}"
                    )
                return run
            time.sleep(1)
        raise TimeoutError(f"{dag_id} {run_id} did not end within {timeout}s")

    def failed(self, run: dict[str, Any]) -> list[str]:
        """The task ids of ``run`` that did not succeed."""
        path = f"/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}/taskInstances"
        instances = self.api("GET", path, params={"limit": 1000})["task_instances"]
        return [ti["task_id"] for ti in instances if ti["state"] not in ("success", "skipped")]

    def check_alive(self) -> None:
        """Raise naming the component (and its log) that exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"airflow {name} exited {process.returncode}: {self.log_dir}/{name}.log"
                )


@contextlib.contextmanager
def running_airflow(
    extra_env: Mapping[str, str] | None = None, *, log_dir: Path, dags_folder: Path | None = None
) -> Iterator[RunningAirflow]:
    """Start the four Airflow components (LocalExecutor) with ``extra_env``; stop them on exit.

    The metadata DB is migrated first. Logs go to ``log_dir/<component>.log``.
    """
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = with_runtime({**os.environ, **(extra_env or {})})
    env.update(
        {
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            # Only the DAGs a caller unpauses run (wait_for_dags): no cron run sneaks in.
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # A laptop-sized LocalExecutor (its default, 32, starts 32 worker processes).
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )
    if dags_folder is not None:
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # The simple auth manager reads its generated passwords from this file.
    passwords = home / "simple_auth_manager_passwords.json.generated"
    passwords.write_text(f'{{"{USER}": "{PASSWORD}"}}')
    env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
    binary = str(Path(sys.executable).with_name("airflow"))
    migrated = subprocess.run(
        [binary, "db", "migrate"], env=env, capture_output=True, text=True, check=False
    )
    if migrated.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{migrated.stdout}\n{migrated.stderr}")
    log_dir.mkdir(parents=True, exist_ok=True)
    airflow = RunningAirflow(env=env, api_url=api_url, log_dir=log_dir)
    # A terminated bench still stops its Airflow (the finally below runs on SystemExit).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for name in COMPONENTS:
            args = [binary, name] + (["--port", str(port)] if name == "api-server" else [])
            with (log_dir / f"{name}.log").open("w") as log:
                airflow.processes[name] = subprocess.Popen(
                    args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        _wait_for_api(airflow)
        yield airflow
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in airflow.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in airflow.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)


def with_runtime(env: dict[str, str]) -> dict[str, str]:
    """``env`` plus Waybill's runtime environment for it (:func:`waybill.runtime.environment`,
    computed in a child process: the warehouse is resolved from ``WAYBILL_HOME`` per process)."""
    import json

    code = "import json; from waybill import runtime; print(json.dumps(runtime.environment()))"
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return {**env, **json.loads(completed.stdout.strip().splitlines()[-1])}


def _wait_for_api(airflow: RunningAirflow, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        airflow.check_alive()
        try:
            if requests.get(f"{airflow.api_url}/api/v2/monitor/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise TimeoutError(f"the api-server did not answer within {timeout}s")
