"""``waybill demo``: the whole pipeline through Airflow against the sandbox, then a summary.

Starts the sandbox (``waybill sandbox serve``) in a child process on a free loopback port with a
fresh random ERP token, its clock ``days`` days before the world's horizon and its ERP writing
its own ledger; points the Airflow connections at it (unless they are already set); then, once
and after each simulated day (the sandbox clock advanced by 24 h), runs every ingestion DAG,
``transform_warehouse`` and ``post_billing`` with ``dag.test()``, so the world changes after
billing (late charges, re-weighs, cancellations, POD reversals, disputes) and the run shows
amendments and credit notes. Finally ``reconcile_billing`` and ``pipeline_health``, and the
ERP's ledger netted per shipment against the sandbox's truth for the same seed, scale, clock
and days. Prints one line per DAG run (and per dbt layer) as it runs, then the summary; writes
the summary, the ERP ledger and every Airflow and dbt log line (``airflow.log``) to
``build/reports/demo/``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import requests

from waybill import runtime, warehouse

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

SANDBOX_START_TIMEOUT_S = 120
TICK_HOURS = 24


def demo_dir() -> Path:
    """``build/reports/demo``: the summary, the ERP ledger and the logs of the demo."""
    return runtime.BUILD_DIR / "reports" / "demo"


def run_demo(seed: int, shipments: int, faults: float = 0.0, days: int = 2) -> int:
    """Run the demo; return 0 when every DAG succeeded, at least one invoice was posted and the
    ERP's ledger nets to the truth for every shipment.

    On the embedded warehouse the demo starts from empty schemas; against a ``WAREHOUSE_URL``
    it drops nothing and adds to what is there.
    """
    embedded = "WAREHOUSE_URL" not in os.environ
    log_path = demo_dir() / "airflow.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    print(
        f"Waybill demo: seed {seed}, {shipments} shipments, {days} simulated days, faults {faults}"
        f" (Airflow and dbt logs: {log_path})",
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    token = secrets.token_urlsafe(24)
    ledger = demo_dir() / "erp_ledger.jsonl"
    failed = None
    with output_to(log_path) as terminal:
        runtime.apply()
        from waybill import demo_webhooks
        from waybill.orchestration.runner import ensure_airflow_db
        from waybill.sources import systems

        if embedded:
            _reset_warehouse()
        ensure_airflow_db()
        pushing = demo_webhooks.webhook_carriers()
        webhook_secrets = demo_webhooks.new_secrets(pushing)
        with (
            sandbox(
                seed,
                shipments,
                faults,
                token,
                days=days,
                ledger=ledger,
                env=demo_webhooks.sandbox_env(webhook_secrets),
            ) as (base_url, clock),
            demo_webhooks.receiver(
                webhook_secrets, _free_port(), demo_dir() / "webhooks.log", dict(os.environ)
            ) as receiver_url,
        ):
            _point_connections_at(base_url, token)
            pusher = demo_webhooks.Pusher(base_url, token, receiver_url, pushing)
            dag_ids = [f"ingest_{name}" for name in systems()]
            dag_ids += ["transform_warehouse", "post_billing", "sync_crm"]
            for day in range(days + 1):
                if day:
                    clock = _advance_clock(base_url, token, TICK_HOURS)
                # Carriers push within seconds of publishing; the feeds are polled after.
                pusher.push()
                for dag_id in dag_ids:
                    record, failed = _run_reported(dag_id, day, clock, terminal)
                    runs.append(record)
                    if failed:
                        break
                if failed:
                    break
            for dag_id in ("reconcile_billing", "pipeline_health"):
                if not failed:
                    record, failed = _run_reported(dag_id, days, clock, terminal)
                    runs.append(record)
            erp_invoices = _erp_invoices(base_url, token)
        summary = collect_summary(runs, erp_invoices, seed=seed, shipments=shipments)
    summary.update({"days": days, "faults": faults, "tick_hours": TICK_HOURS})
    summary["webhooks"] = webhook_summary(pusher, demo_webhooks)
    truth = sandbox_truth(
        seed=seed,
        shipments=shipments,
        faults=faults,
        clock=runs[0]["clock"] if runs else None,
        pushed=pushing,
    )
    summary["ledger_vs_truth"] = ledger_vs_truth(ledger, truth)
    summary["crm_vs_truth"] = crm_vs_truth(
        ledger.with_name("crm_ledger.jsonl"), truth, mart_statuses()
    )
    report_dir = write_reports(summary)
    print(render_summary(summary, streamed=True))
    print(f"reports: {report_dir}")
    from waybill import dbt_docs

    docs = dbt_docs.generate()
    print(f"dbt docs: {docs}" if docs else "dbt docs: not generated (see dbt-docs.log)")
    if failed:
        print(f"demo failed: {failed} (the task logs: {log_path})", file=sys.stderr)
        return 1
    if summary["ledger_vs_truth"].get("mismatched"):
        print("demo failed: the ERP ledger does not net to the truth", file=sys.stderr)
        return 1
    if not summary["crm_vs_truth"].get("agrees", True):
        print("demo failed: the CRM's cases or statuses differ from the truth", file=sys.stderr)
        return 1
    return 0 if summary["billing"]["posted"] >= 1 else 1


def webhook_summary(pusher: Any, demo_webhooks: Any) -> dict[str, Any]:
    """Per pushing carrier: events pushed (signed POSTs accepted), refused, and landed in raw,
    canonical and modelled (``fct_shipment_milestones`` rows whose channel is ``webhook``)."""
    with warehouse.connect(role="transformer") as conn:
        counts = demo_webhooks.webhook_counts(conn, pusher.carriers)
    return {
        carrier: {"pushed": pusher.pushed[carrier], "refused": pusher.failed[carrier], **row}
        for carrier, row in counts.items()
    }


def _advance_clock(base_url: str, token: str, hours: int) -> str:
    """Move the sandbox clock ``hours`` forward; return the new clock (ISO-8601 UTC)."""
    return _admin_clock(base_url, token, {"advance_hours": hours})


def sandbox_truth(
    *, seed: int, shipments: int, faults: float, clock: str | None, pushed: Sequence[str] = ()
) -> dict[str, Any] | None:
    """``waybill sandbox truth`` for the demo's world: same seed, scale and faults, the billing
    oracle and the CRM sync run at ``clock`` and every ``TICK_HOURS`` after, a missing POD
    deserving a case after the CRM mapping's hours, the ``pushed`` carriers' events also
    received as webhooks. None when there was no run (no clock)."""
    from waybill.crm.mapping import load_mapping

    if clock is None:
        return None
    command = [
        str(Path(sys.executable).with_name("waybill")),
        "sandbox",
        "truth",
        "--seed",
        str(seed),
        "--shipments",
        str(shipments),
        "--clock",
        clock,
        "--tick-hours",
        str(TICK_HOURS),
        "--faults",
        str(faults),
        "--missing-pod-hours",
        str(load_mapping().missing_pod_after_hours),
        "--pushed-carriers",
        ",".join(pushed),
    ]
    return json.loads(subprocess.run(command, capture_output=True, check=True, text=True).stdout)


def ledger_vs_truth(ledger: Path, truth: dict[str, Any] | None) -> dict[str, Any]:
    """Net the ERP's ledger (JSONL) per shipment (invoices − credit notes) and compare it with
    the truth's ``net_billable_amount`` for every shipment; also count the documents by kind
    and the Idempotency-Keys that name more than one document."""
    from decimal import Decimal

    if truth is None or not ledger.exists():
        return {"checked": 0, "mismatched": 0, "examples": []}
    net: dict[str, Decimal] = {}
    kinds: dict[str, int] = {}
    keys: dict[str, int] = {}
    for text in ledger.read_text().splitlines():
        if not text.strip():
            continue
        doc = json.loads(text)
        kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
        keys[doc["idempotency_key"]] = keys.get(doc["idempotency_key"], 0) + 1
        sign = 1 if doc["kind"] == "invoice" else -1
        for shipment in doc["shipment_ids"]:
            net[shipment] = net.get(shipment, Decimal("0")) + sign * Decimal(doc["amount"])
    misses = [
        {
            "order_number": s["order_number"],
            "erp_net": str(net.get(s["order_number"], Decimal("0.00"))),
            "truth": s["net_billable_amount"],
        }
        for s in truth["shipments"]
        if net.get(s["order_number"], Decimal("0")) != Decimal(s["net_billable_amount"])
    ]
    return {
        "checked": len(truth["shipments"]),
        "mismatched": len(misses),
        "examples": misses[:10],
        "documents_by_kind": kinds,
        "shared_idempotency_keys": sum(1 for n in keys.values() if n > 1),
    }


def mart_statuses() -> dict[str, str]:
    """Each shipment's customer-visible status in ``marts.fct_customer_shipment_status``, named
    as the CRM names it (``include/crm_mapping.yaml``); empty when the mart is not built."""
    from waybill.crm.mapping import load_mapping

    mapping = load_mapping()
    with warehouse.connect(role="transformer") as conn:
        try:
            rows = conn.execute(
                "select order_number, customer_visible_status"
                " from marts.fct_customer_shipment_status"
            ).fetchall()
        except Exception:  # the mart does not exist when the transform never ran
            return {}
    return {order: mapping.statuses[status]["status"] for order, status in rows}


def crm_vs_truth(
    crm_ledger: Path, truth: dict[str, Any] | None, marts: dict[str, str]
) -> dict[str, Any]:
    """Compare the sandbox CRM's own ledger with the truth and the marts.

    Cases: the case records the CRM created against the truth's ``crm_cases`` (missing,
    unexpected, created twice). Statuses: each shipment's last status record in the CRM against
    the truth's ``customer_status`` and the mart's status (``marts``: order number → CRM status
    name); a shipment the truth expects no CRM record of (``customer_status`` null: its customer
    is unknowable) must have none. ``agrees`` is True when all of it holds.
    """
    from collections import Counter

    from waybill.crm.mapping import load_mapping

    if truth is None or not crm_ledger.exists():
        return {"cases_expected": 0, "cases_found": 0, "agrees": True}
    mapping = load_mapping()
    created: Counter[str] = Counter()
    crm_status: dict[str, str] = {}
    for text in crm_ledger.read_text().splitlines():
        if not text.strip():
            continue
        write = json.loads(text)
        if write["object"] == mapping.case_object and write["operation"] == "created":
            created[write["external_id"]] += 1
        elif write["object"] == mapping.status_object:
            crm_status[write["external_id"]] = write["fields"]["status"]
    expected = {c["external_id"] for s in truth["shipments"] for c in s["crm_cases"]}
    truth_status = {
        s["order_number"]: mapping.statuses[s["customer_status"]]["status"]
        for s in truth["shipments"]
        if s["customer_status"] is not None
    }
    orders = sorted(set(truth_status) | set(crm_status))
    off_truth = [o for o in orders if crm_status.get(o) != truth_status.get(o)]
    off_mart = [o for o in crm_status if crm_status[o] != marts.get(o)]
    missing = sorted(expected - set(created))
    unexpected = sorted(set(created) - expected)
    duplicated = sorted(x for x, n in created.items() if n > 1)
    return {
        "cases_expected": len(expected),
        "cases_found": len(created),
        "missing": len(missing),
        "unexpected": len(unexpected),
        "duplicated": len(duplicated),
        "statuses_expected": len(truth_status),
        "statuses_found": len(crm_status),
        "statuses_matching_truth": sum(
            1 for o, v in truth_status.items() if crm_status.get(o) == v
        ),
        "statuses_off_truth": len(off_truth),
        "statuses_off_mart": len(off_mart),
        "examples": {
            "missing": missing[:5],
            "unexpected": unexpected[:5],
            "duplicated": duplicated[:5],
            "status_off_truth": [
                {"order_number": o, "crm": crm_status.get(o), "truth": truth_status.get(o)}
                for o in off_truth[:5]
            ],
            "status_off_mart": [
                {"order_number": o, "crm": crm_status[o], "mart": marts.get(o)}
                for o in off_mart[:5]
            ],
        },
        "agrees": not (missing or unexpected or duplicated or off_truth or off_mart),
    }


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[TextIO]:
    """Append everything written to this process's stdout/stderr to ``log_path``; yield the terminal.

    Redirects file descriptors 1 and 2, so Airflow's and dbt's loggers, warnings and child
    processes all land in the log whatever stream object they hold. The yielded stream writes to
    the original stdout (line-buffered), for the progress lines the demo prints as it runs.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    with log_path.open("a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            terminal.close()


def _run_reported(
    dag_id: str, day: int, clock: str, terminal: TextIO
) -> tuple[dict[str, Any], str | None]:
    """Run ``dag_id`` once; print a progress line to ``terminal`` per dbt task group (for
    ``transform_warehouse``) as each finishes (how far into the run), then one for the run. Returns the run's record
    for the summary and the failure message (None when it succeeded)."""
    from waybill.orchestration.runner import DagRunFailed, group_progress, run_dag

    failed = None
    started = time.monotonic()

    def group_line(group: str, states: dict[str, int], seconds: float) -> None:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        print(f"  day {day}    dbt {group:<18} {counts:<22} done at {seconds:.0f}s", file=terminal)

    group_of = dbt_task_group if dag_id == "transform_warehouse" else _no_group
    with group_progress(dag_id, group_of, group_line):
        try:
            state = str(run_dag(dag_id).state)
        except DagRunFailed as exc:
            state, failed = "failed", str(exc)
    record = {
        "day": day,
        "clock": clock,
        "dag_id": dag_id,
        "state": state,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(run_line(record), file=terminal)
    return record, failed


def run_line(record: dict[str, Any]) -> str:
    """One DAG run as the line the demo prints and ``summary.md`` lists."""
    return (
        f"  day {record.get('day', 0)}  {record['dag_id']:<22} {record['state']:<8}"
        f" {record['seconds']:>6}s"
    )


def _no_group(task_id: str) -> str | None:
    return None


def dbt_task_group(task_id: str) -> str | None:
    """The dbt layer a ``transform_warehouse`` task builds, the demo's progress group: the model's
    folder under ``models/`` (``staging``, ``intermediate``, ``marts``), ``seeds``, ``snapshots``
    or ``tests``; ``other`` for a task of the dbt group that builds no one node; None outside it
    and for the WATCHER producer (the build itself).
    """
    if not task_id.startswith("dbt."):
        return None
    name = task_id.split(".", 1)[1]
    if name.startswith("dbt_producer_watcher"):
        return None  # WATCHER mode's one `dbt build`: the DAG's own line reports it
    match = max((n for n in _dbt_layers() if name.startswith(n)), key=len, default=None)
    return _dbt_layers()[match] if match else "other"


@functools.cache
def _dbt_layers() -> dict[str, str]:
    """dbt node name → its layer, from the project's manifest (empty when it was never parsed)."""
    manifest = runtime.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return {}
    layers = {}
    for node in json.loads(manifest.read_text())["nodes"].values():
        kind = node["resource_type"]
        fqn = node.get("fqn") or []
        if kind == "model":
            layers[node["name"]] = fqn[1] if len(fqn) > 2 else "models"
        elif kind in ("seed", "snapshot", "test"):
            layers[node["name"]] = f"{kind}s"
    return layers


@contextlib.contextmanager
def sandbox(
    seed: int,
    shipments: int,
    faults: float,
    token: str,
    *,
    days: int,
    ledger: Path,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """Run ``waybill sandbox serve`` in a child process, its clock ``days`` × 24 h before the
    world's horizon and its ERP ledger at ``ledger`` (emptied first); yield (base URL, clock);
    stop it on exit. ``env`` adds to the child's environment (the carriers' webhook secrets).
    Its log is ``<log_dir>/sandbox.log`` (default the demo's folder)."""
    port = _free_port()
    log_path = (log_dir or demo_dir()) / "sandbox.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    ledger.unlink(missing_ok=True)
    crm_ledger = ledger.with_name("crm_ledger.jsonl")
    crm_ledger.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).with_name("waybill")),
        "sandbox",
        "serve",
        "--seed",
        str(seed),
        "--shipments",
        str(shipments),
        "--port",
        str(port),
        "--faults",
        str(faults),
        "--ledger",
        str(ledger),
        "--crm-ledger",
        str(crm_ledger),
        "--clock",
        f"END-{days * TICK_HOURS}h",
    ]
    _fresh_inbound()  # files arrive through the carrier's listing as the clock allows
    env = {**os.environ, **(env or {}), "WAYBILL_SANDBOX_ERP_TOKEN": token}
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base_url, process, log_path)
            yield base_url, _clock(base_url, token)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _clock(base_url: str, token: str) -> str:
    """The sandbox clock now (ISO-8601 UTC)."""
    return _admin_clock(base_url, token)


def _admin_clock(base_url: str, token: str, move: dict[str, Any] | None = None) -> str:
    """GET (or, with ``move``, POST) the sandbox's ``/admin/clock``; return its clock."""
    response = requests.request(
        "POST" if move else "GET",
        f"{base_url}/admin/clock",
        json=move,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["clock"]


def _fresh_inbound() -> Path:
    """Empty the demo's inbound folder (only the demo's own default one) for a fresh drop."""
    import shutil

    folder = demo_inbound_dir()
    if "WAYBILL_INBOUND_DIR" not in os.environ and folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SANDBOX_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if requests.get(f"{base_url}/openapi.json", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"sandbox did not answer within {SANDBOX_START_TIMEOUT_S}s: {log_path}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SANDBOX_PREFIXES = {
    "erp_api": "erp",
    "wms_api": "wms",
    "tms_api": "tms",
    "parcelco_api": "carriers/parcelco",
    "swiftex_api": "carriers/swiftex",
    "tracklane_api": "carriers/tracklane",
    "ridgeline_api": "carriers/ridgeline",
    "crm_api": "crm",
}
# The sandbox CRM's client credentials (its defaults; not a secret of any real system).
SANDBOX_CRM_CLIENT = {"client_id": "waybill", "client_secret": "sandbox-crm-secret"}


def demo_inbound_dir() -> Path:
    """The inbound folder the demo's sandbox drops files into (``WAYBILL_INBOUND_DIR`` if set)."""
    configured = os.environ.get("WAYBILL_INBOUND_DIR")
    return Path(configured) if configured else warehouse.state_dir() / "demo" / "inbound"


def sandbox_connections(base_url: str, erp_token: str) -> dict[str, str]:
    """Return the ``AIRFLOW_CONN_*`` variables that point each partner connection at a sandbox.

    Only the ERP takes a token. Tests and benchmarks use the same mapping as the demo.
    """
    variables = {}
    for conn_id, prefix in SANDBOX_PREFIXES.items():
        spec: dict[str, Any] = {"conn_type": "http", "host": f"{base_url}/{prefix}"}
        if conn_id == "erp_api":
            spec["password"] = erp_token
        if conn_id == "crm_api":
            spec["password"] = SANDBOX_CRM_CLIENT["client_secret"]
            spec["extra"] = {"client_id": SANDBOX_CRM_CLIENT["client_id"]}
        variables[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(spec)
    return variables


def _point_connections_at(base_url: str, token: str) -> None:
    """Set each partner connection to the sandbox, unless the environment already defines it.

    File sources read ``WAYBILL_INBOUND_DIR`` (the folder the sandbox was started with
    ``--inbound``), set here unless already set.
    """
    for name, value in sandbox_connections(base_url, token).items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("WAYBILL_INBOUND_DIR", str(demo_inbound_dir()))


def _reset_warehouse() -> None:
    """Start from an empty warehouse, so the demo's figures are this run's."""
    with warehouse.connect(autocommit=True) as conn:
        for schema in ("raw", "ops", "staging", "intermediate", "marts", "reference", "snapshots"):
            conn.execute(f"drop schema if exists {schema} cascade")


def _erp_invoices(base_url: str, token: str) -> list[dict[str, Any]]:
    """Every document the sandbox ERP holds: invoices and credit notes (``kind`` added)."""
    documents: list[dict[str, Any]] = []
    for path, kind in (("invoices", "invoice"), ("credit-notes", "credit_note")):
        response = requests.get(
            f"{base_url}/erp/{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        documents += [
            {"kind": kind, **doc} for doc in (body["data"] if isinstance(body, dict) else body)
        ]
    return documents


def collect_summary(
    runs: list[dict[str, Any]], erp_invoices: list[dict[str, Any]], *, seed: int, shipments: int
) -> dict[str, Any]:
    """Read what the pipeline produced from the warehouse and the ERP into one JSON-able dict."""
    with warehouse.connect(role="transformer") as conn:
        raw_tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
            " order by table_name"
        ).fetchall()
        raw: dict[str, int] = {}
        for (name,) in raw_tables:
            row = conn.execute(f'select count(*) from raw."{name}"').fetchone()
            assert row is not None  # an aggregate without group by returns one row
            raw[name] = row[0]
        dead_letters = _scalar(conn, "select count(*) from ops.dead_letters")
        models = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in ('staging', 'intermediate', 'marts') order by 1"
        ).fetchall()
        outbox: dict[str, int] = dict(
            conn.execute(
                "select status, count(*) from ops.billing_outbox group by status"
            ).fetchall()
        )
        purposes: dict[str, int] = dict(
            conn.execute(
                "select purpose, count(*) from ops.billing_outbox where status = 'posted'"
                " group by purpose order by purpose"
            ).fetchall()
        )
        business_holds: dict[str, int] = dict(
            conn.execute(
                "select hold_reason, count(*) from marts.fct_shipment_to_invoice"
                " where billing_status = 'held' group by hold_reason order by 2 desc"
            ).fetchall()
        )
        reconciliation: dict[str, int] = dict(
            conn.execute("select issue, count(*) from ops.reconciliation group by issue").fetchall()
        )
    gate = _gate_statistics()
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "shipments": shipments,
        "dag_runs": runs,
        "raw": raw,
        "dead_letters": dead_letters,
        "models": [name for (name,) in models],
        "checks": gate,
        "billing": {
            "posted": outbox.get("posted", 0),
            "pending": outbox.get("pending", 0),
            "failed": outbox.get("failed", 0),
            "awaiting_approval": outbox.get("awaiting_approval", 0),
            "posted_by_purpose": purposes,
            "business_holds": business_holds,
            "erp_documents": len(erp_invoices),
            "erp_documents_by_kind": {
                kind: sum(1 for d in erp_invoices if d["kind"] == kind)
                for kind in ("invoice", "credit_note")
            },
            "erp_duplicate_postings": sum(
                1 for invoice in erp_invoices if invoice.get("times_posted", 1) > 1
            ),
            "reconciliation": reconciliation,
        },
    }


def _scalar(conn: Any, query: str) -> int:
    try:
        return conn.execute(query).fetchone()[0]
    except Exception:  # the table does not exist yet when nothing reached that stage
        conn.rollback()
        return 0


def _gate_statistics() -> dict[str, Any]:
    """The ``billing_ready`` gate's result of the latest post_billing run, from Airflow's XCom."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == "post_billing")
            .order_by(DagRun.id.desc())
            .limit(1)
        ).first()
        if run is None:
            return {}
        row = session.scalars(
            XComModel.get_many(
                run_id=run.run_id,
                dag_ids="post_billing",
                task_ids="gate_billing_ready",
                key="return_value",
            )
        ).first()
        value = XComModel.deserialize_value(row) if row is not None else None
    if not isinstance(value, dict):
        return {}
    validations = value.get("validation_results", [])
    return {
        "suite": "billing_ready",
        "success": value.get("success"),
        "evaluated": sum(v["statistics"]["evaluated_expectations"] for v in validations),
        "successful": sum(v["statistics"]["successful_expectations"] for v in validations),
    }


def write_reports(summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` and ``summary.md`` under ``build/reports/demo/``; return the folder."""
    folder = runtime.BUILD_DIR / "reports" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (folder / "summary.md").write_text(render_summary(summary) + "\n")
    return folder


def render_summary(summary: dict[str, Any], *, streamed: bool = False) -> str:
    """Render the summary as ``summary.md`` holds it, or (``streamed``) as ``make demo`` prints it
    after its progress lines: without the DAG runs already printed, the raw tables and dbt models
    condensed to a few lines."""
    lines = [
        "",
        f"Waybill demo (seed {summary['seed']}, {summary['shipments']} shipments,"
        f" {summary.get('days', 0)} simulated days after the first run,"
        f" faults {summary.get('faults', 0)})",
        "",
    ]
    if not streamed:
        lines += [run_line(r) for r in summary["dag_runs"]]
        lines.append("")
    lines.append(f"  rows landed in raw: {sum(summary['raw'].values())}")
    if streamed:
        landed = [f"{name} {count}" for name, count in summary["raw"].items() if count]
        lines += _wrapped(landed, indent="    ")
    else:
        lines += [f"    raw.{name}: {count}" for name, count in summary["raw"].items()]
    lines.append(f"  dead letters: {summary['dead_letters']}")
    for carrier, hooks in summary.get("webhooks", {}).items():
        lines.append(
            f"  webhooks {carrier}: {hooks['pushed']} signed pushes accepted"
            f" ({hooks['refused']} refused), {hooks['landed']} events landed in raw,"
            f" {hooks['canonical']} first landed by the push, {hooks['modelled']} modelled"
            " in fct_shipment_milestones"
        )
    if streamed:
        schemas: dict[str, int] = {}
        for model in summary["models"]:
            schema = model.split(".", 1)[0]
            schemas[schema] = schemas.get(schema, 0) + 1
        per_schema = ", ".join(f"{schema} {n}" for schema, n in schemas.items())
        lines.append(f"  dbt models built: {len(summary['models'])} ({per_schema})")
    else:
        lines.append(
            f"  dbt models built: {len(summary['models'])} ({', '.join(summary['models'])})"
        )
    checks = summary["checks"]
    if checks:
        lines.append(
            f"  quality checks ({checks['suite']}): {checks['successful']}/{checks['evaluated']}"
            f" expectations passed"
        )
    billing = summary["billing"]
    lines.append(
        f"  documents posted: {billing['posted']} (pending {billing['pending']},"
        f" failed {billing['failed']}, awaiting approval {billing.get('awaiting_approval', 0)});"
        f" ERP documents {billing['erp_documents']}"
        f" ({', '.join(f'{n} {k}' for k, n in billing.get('erp_documents_by_kind', {}).items())}),"
        f" duplicate postings {billing['erp_duplicate_postings']}"
    )
    if billing.get("posted_by_purpose"):
        lines.append(
            "    by purpose: "
            + ", ".join(f"{purpose} {n}" for purpose, n in billing["posted_by_purpose"].items())
        )
    if billing.get("business_holds"):
        lines.append(
            "  shipments held by business rules: "
            + ", ".join(f"{reason} {n}" for reason, n in billing["business_holds"].items())
        )
    lines.append(
        "  reconciliation: "
        + (
            ", ".join(f"{issue} {n}" for issue, n in billing.get("reconciliation", {}).items())
            or "clean"
        )
    )
    check = summary.get("ledger_vs_truth")
    if check:
        lines.append(
            f"  ERP ledger vs truth: {check['checked'] - check['mismatched']}/{check['checked']}"
            " shipments net to the truth's net_billable_amount;"
            f" Idempotency-Keys naming two documents: {check.get('shared_idempotency_keys', 0)}"
        )
    crm = summary.get("crm_vs_truth")
    if crm and "missing" in crm:
        lines.append(
            f"  CRM cases vs truth: {crm['cases_found']} found / {crm['cases_expected']} expected"
            f" (missing {crm['missing']}, unexpected {crm['unexpected']},"
            f" created twice {crm['duplicated']})"
        )
        lines.append(
            f"  CRM statuses: {crm['statuses_found']} in the CRM,"
            f" {crm['statuses_found'] - crm['statuses_off_mart']} equal to the mart's,"
            f" {crm['statuses_matching_truth']}/{crm['statuses_expected']}"
            " equal to the truth's"
        )
    return "\n".join(lines)


def _wrapped(items: list[str], *, indent: str, width: int = 100) -> list[str]:
    """``items`` joined with `` · `` into lines of at most ``width`` characters."""
    lines: list[str] = []
    line = ""
    for item in items:
        candidate = f"{line} · {item}" if line else item
        if line and len(indent) + len(candidate) > width:
            lines.append(indent + line)
            candidate = item
        line = candidate
    return [*lines, indent + line] if line else lines
