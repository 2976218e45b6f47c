"""Finance approval in ``post_billing``, answered through Airflow's REST API.

Each test queues documents with the real planner (an approval limit of 1000.00), then runs the
``post_billing`` DAG with ``dag.test()`` in this process while a thread plays finance: it waits
until the approval task's Human-in-the-loop detail exists, then answers through a real
``airflow api-server`` (a subprocess on a free loopback port, sharing this test's metadata DB,
logged in through the Simple auth manager's ``/auth/token``). The gate and the planning step are
marked successful in these runs (``tests/quality`` and ``test_gate_decision`` cover them); every
other task runs for real against a sandbox ERP.

``dag.test()`` runs no scheduler, and the response timeout is the scheduler's to enforce: the
timeout test calls the scheduler's own sweep (``SchedulerJobRunner.check_awaiting_input_timeouts``)
in-process, as the scheduler loop would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.billing.conftest import erp_get
from tests.expectations.billing_tables import create, line
from waybill import warehouse
from waybill.billing.approvals import HOLD_ALL
from waybill.billing.run import apply_gate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.e2e

USER, PASSWORD = "finance.lead", "approval-test-password"
LIMIT = "1000.00"
SKIPPED_STEPS = "gate_billing_ready|record_gate_verdict|hold_and_enqueue"
APPROVAL_TASK = "approve_documents"


class ApiServer:
    """A running ``airflow api-server`` and a bearer token for :data:`USER`."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> dict:
        response = requests.get(
            f"{self.base_url}/api/v2{path}", headers=self.headers, params=params, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict) -> requests.Response:
        return requests.patch(
            f"{self.base_url}/api/v2{path}", headers=self.headers, json=body, timeout=10
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(airflow_db, tmp_path_factory) -> Iterator[ApiServer]:
    """``airflow api-server`` on a free loopback port, with one Simple-auth-manager user."""
    folder = tmp_path_factory.mktemp("api-server")
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    port = _free_port()
    env = {
        **os.environ,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    airflow = Path(sys.executable).with_name("airflow")
    log = (folder / "api-server.log").open("w")
    command = [str(airflow), "api-server", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "1", "--apps", "core"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, f"api-server exited; see {log.name}"
            assert time.monotonic() < deadline, f"api-server did not start; see {log.name}"
            try:
                requests.get(f"{base_url}/api/v2/monitor/health", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                time.sleep(0.5)
        login = requests.post(
            f"{base_url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=10
        )
        login.raise_for_status()
        yield ApiServer(base_url, login.json()["access_token"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


@pytest.fixture
def billing_world(own_warehouse, clean_warehouse, airflow_db, sandbox, monkeypatch):
    """A scratch ``marts`` schema and the sandbox ERP; yields a function that queues documents."""
    monkeypatch.setenv("WAYBILL_APPROVAL_LIMIT", LIMIT)
    clean_warehouse.execute("create schema marts")

    def queue(lines: list[dict]) -> dict:
        create("marts", lines)
        return apply_gate("approval-test-plan", require_verdict=False)

    yield sandbox, queue


def _sql(query: str, params: tuple = ()) -> list[tuple]:
    with warehouse.connect(autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _erp_invoices(base_url: str) -> dict[str, Decimal]:
    return {
        doc["invoice_number"]: Decimal(doc["total_amount"]) for doc in erp_get(base_url, "invoices")
    }


def _run_post_billing(
    finance: Callable[[], None], *, response_timeout: timedelta | None = None
) -> tuple[Any, list[BaseException]]:
    """Run post_billing (gate and planning marked successful) while ``finance`` runs in a thread.

    Returns the DagRun and whatever ``finance`` raised (re-raise it in the test).
    """
    from waybill.orchestration.runner import dag_bag

    dag = dag_bag().dags["post_billing"]
    errors: list[BaseException] = []

    finished = threading.Event()

    def play() -> None:
        try:
            finance()
        except BaseException as exc:  # reported to the test, which fails on it
            errors.append(exc)
            while not finished.wait(1):
                _fail_waiting_tasks()  # or dag.test() would wait for an answer for ever

    saved = {t.task_id: (t.retries, getattr(t, "response_timeout", None)) for t in dag.tasks}
    player = threading.Thread(target=play, daemon=True)
    try:
        for t in dag.tasks:
            t.retries = 0
        if response_timeout is not None:
            dag.get_task(APPROVAL_TASK).response_timeout = response_timeout
        player.start()
        dag_run = dag.test(mark_success_pattern=SKIPPED_STEPS)
    finally:
        finished.set()
        for t in dag.tasks:
            t.retries = saved[t.task_id][0]
        dag.get_task(APPROVAL_TASK).response_timeout = saved[APPROVAL_TASK][1]
    player.join(timeout=30)
    return dag_run, errors


def _fail_waiting_tasks() -> None:
    """Fail post_billing's tasks parked for input, so a run whose finance thread broke ends."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import update

    with create_session() as session:
        session.execute(
            update(TaskInstance)
            .where(
                TaskInstance.dag_id == "post_billing",
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            )
            .values(state=TaskInstanceState.FAILED)
        )


def _wait_for_request(api: ApiServer, seconds: float = 90) -> dict:
    """The approval task's open Human-in-the-loop detail, once the run has written it.

    Only details written from now on count: a timed-out request stays unanswered for good.
    """
    since = datetime.now(UTC).isoformat()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = api.get(
            "/dags/post_billing/dagRuns/~/hitlDetails",
            task_id=APPROVAL_TASK,
            response_received="false",
            created_at_gte=since,
        )["hitl_details"]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError("the approval task never asked finance")


def _answer(api: ApiServer, detail: dict, chosen: list[str]) -> requests.Response:
    ti = detail["task_instance"]
    return api.patch(
        f"/dags/post_billing/dagRuns/{ti['dag_run_id']}/taskInstances/{APPROVAL_TASK}"
        f"/{ti['map_index']}/hitlDetails",
        {"chosen_options": chosen},
    )


def _outbox(invoice_id: str) -> tuple:
    return _sql(
        "select status, last_error, decided_by, decided_at is not null"
        " from ops.billing_outbox where invoice_id = %s",
        (invoice_id,),
    )[0]


def _events(invoice_id: str) -> list[tuple]:
    return _sql(
        "select status, cause, actor from ops.billing_document_events"
        " where invoice_id = %s order by event_id",
        (invoice_id,),
    )


def test_over_the_limit_posts_only_once_approved_through_the_rest_api(billing_world, api_server):
    erp, queue = billing_world
    planned = queue(
        [
            line("INV-SMALL", 1, "100.00"),
            line("INV-BIG1", 1, "4000.00"),
            line("INV-BIG2", 1, "2500.00"),
        ]
    )
    assert planned["first"] == 3
    seen: dict[str, Any] = {}

    def finance() -> None:
        detail = _wait_for_request(api_server)
        # Asked, and nothing over the limit reached the ERP meanwhile; the rest already did.
        seen["erp_before"] = _erp_invoices(erp)
        seen["status_before"] = _outbox("INV-BIG1")[0]
        seen["options"] = detail["options"]
        seen["body"] = detail["body"]
        big1 = next(o for o in detail["options"] if o.startswith("INV-BIG1 "))
        seen["bad_answer"] = _answer(api_server, detail, ["INV-NOT-ASKED"]).status_code
        seen["answer"] = _answer(api_server, detail, [big1]).status_code

    dag_run, errors = _run_post_billing(finance)

    assert not errors, errors
    assert dag_run.state == "success"
    assert seen["erp_before"] == {"INV-SMALL": Decimal("100.00")}
    assert seen["status_before"] == "awaiting_approval"
    assert seen["options"] == [
        "INV-BIG1 · C0001 · 4000.00 USD",
        "INV-BIG2 · C0001 · 2500.00 USD",
        HOLD_ALL,
    ]
    assert "| INV-BIG2 | invoice | C0001 | 2500.00 USD | first billing |" in seen["body"]
    assert (seen["bad_answer"], seen["answer"]) == (400, 200)
    # Approved: posted in the same run, once; who and when recorded.
    assert _erp_invoices(erp) == {"INV-SMALL": Decimal("100.00"), "INV-BIG1": Decimal("4000.00")}
    assert _outbox("INV-BIG1") == ("posted", None, USER, True)
    assert _events("INV-BIG1")[:2] == [
        ("awaiting_approval", "first billing", None),
        ("pending", "approved", USER),
    ]
    # Not chosen: held with its reason, never posted.
    assert _outbox("INV-BIG2") == ("held", "approval_rejected", USER, True)
    assert _events("INV-BIG2")[-1] == ("held", "approval_rejected", USER)

    # A rerun asks nobody (the approval step skips), posts nothing more, keeps the hold.
    rerun, errors = _run_post_billing(lambda: None)
    assert not errors, errors
    assert rerun.state == "success"
    states = {ti.task_id: ti.state for ti in rerun.get_task_instances()}
    assert states[APPROVAL_TASK] == "skipped"
    assert _erp_invoices(erp) == {"INV-SMALL": Decimal("100.00"), "INV-BIG1": Decimal("4000.00")}
    assert _outbox("INV-BIG2") == ("held", "approval_rejected", USER, True)
    assert len(_events("INV-BIG2")) == 2


def test_no_answer_before_the_timeout_holds_the_documents(billing_world, api_server):
    erp, queue = billing_world
    queue([line("INV-BIG3", 1, "1500.00")])
    timeout = timedelta(seconds=2)

    def scheduler_sweep() -> None:
        _wait_for_request(api_server)
        time.sleep(timeout.total_seconds() + 1)
        _sweep_awaiting_input_timeouts()

    dag_run, errors = _run_post_billing(scheduler_sweep, response_timeout=timeout)

    assert not errors, errors
    assert dag_run.state == "success"
    assert _outbox("INV-BIG3") == ("held", "approval_timeout", None, True)
    assert _events("INV-BIG3")[-1] == ("held", "approval_timeout", None)
    assert "INV-BIG3" not in _erp_invoices(erp)


def _sweep_awaiting_input_timeouts() -> None:
    """The scheduler's sweep of Human-in-the-loop timeouts, once (it uses only ``self.log``)."""
    import logging
    from types import SimpleNamespace

    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    runner = SimpleNamespace(log=logging.getLogger("scheduler-sweep"))
    SchedulerJobRunner.check_awaiting_input_timeouts(runner)


# The decision itself, on outbox rows (no Airflow).


@pytest.fixture
def waiting(outbox_cleanup) -> list:
    """Two invoices awaiting approval (prefix ``INV-APPR-``); yields them as finance sees them."""
    from tests.billing.outbox_rows import add_pending
    from waybill.billing.approvals import awaiting
    from waybill.load.schema import ensure_ops_schema

    prefix = "INV-APPR-"
    outbox_cleanup.append(prefix)
    with warehouse.connect(autocommit=True) as conn:
        ensure_ops_schema(conn)
        # outbox_cleanup leaves the event log alone; a rerun must start from no events.
        conn.execute(
            "delete from ops.billing_document_events where invoice_id like %s", (f"{prefix}%",)
        )
    add_pending(prefix, [{"customer_id": "C0001", "currency": "USD"}], 2)
    _sql(
        "update ops.billing_outbox set status = 'awaiting_approval', approval_required = true,"
        " document_id = invoice_id where invoice_id like %s",
        (f"{prefix}%",),
    )
    with warehouse.connect() as conn:
        return [doc for doc in awaiting(conn) if doc.invoice_id.startswith(prefix)]


def _decide(documents: list, chosen: list[str], **kwargs: Any) -> dict[str, int]:
    from waybill.billing.approvals import decide

    with warehouse.connect() as conn:
        return decide(
            conn, documents, chosen, decided_by=USER, decided_at=datetime.now(UTC), **kwargs
        )


def test_hold_all_wins_and_a_second_answer_changes_nothing(waiting):
    first, second = waiting
    assert first.option == "INV-APPR-0000 · C0001 · 100.25 USD"

    assert _decide(waiting, [first.option, HOLD_ALL]) == {
        "approved": 0,
        "rejected": 2,
        "timed_out": 0,
    }
    assert _decide(waiting, [first.option]) == {"approved": 0, "rejected": 0, "timed_out": 0}

    assert _outbox(first.invoice_id) == ("held", "approval_rejected", USER, True)
    assert _outbox(second.invoice_id) == ("held", "approval_rejected", USER, True)
    assert _events(first.invoice_id) == [("held", "approval_rejected", USER)]


def test_a_timeout_ignores_any_choice_and_holds_with_its_own_reason(waiting):
    counts = _decide(waiting, [waiting[0].option], timed_out=True)

    assert counts == {"approved": 0, "rejected": 0, "timed_out": 2}
    assert {_outbox(doc.invoice_id)[:2] for doc in waiting} == {("held", "approval_timeout")}


@pytest.mark.parametrize(
    ("value", "hours"), [(None, 24.0), ("0.5", 0.5), ("48", 48.0)], ids=["default", "half", "two"]
)
def test_the_response_timeout_comes_from_the_environment(monkeypatch, value, hours):
    from waybill.billing.approvals import TIMEOUT_ENV, response_timeout

    if value is None:
        monkeypatch.delenv(TIMEOUT_ENV, raising=False)
    else:
        monkeypatch.setenv(TIMEOUT_ENV, value)

    assert response_timeout() == timedelta(hours=hours)


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_bad_response_timeout_names_the_variable(monkeypatch, value):
    from waybill.billing.approvals import TIMEOUT_ENV, response_timeout

    monkeypatch.setenv(TIMEOUT_ENV, value)

    with pytest.raises(ValueError, match=TIMEOUT_ENV):
        response_timeout()
