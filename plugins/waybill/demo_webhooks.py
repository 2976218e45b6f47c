"""The demo's carrier webhooks: ``waybill webhooks serve`` in a child process, the sandbox pushing
signed events to it, and the counts of webhook events landed and modelled.

Every source with a ``webhook`` block in ``sources.yaml`` pushes. Each carrier gets a fresh random
secret per demo run, given to the sandbox (``WAYBILL_SANDBOX_WEBHOOK_SECRET_<CARRIER>``, it signs)
and to the receiver (``WAYBILL_WEBHOOK_SECRET_<CARRIER>``, it verifies) through their child
environments only: never printed, never in the parent's environment.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from collections.abc import Iterator

RECEIVER_START_TIMEOUT_S = 60
PUSH_PAGE = 500
PUSH_ATTEMPTS = 8  # the sandbox faults a request at most a few times in a row


def webhook_carriers() -> list[str]:
    """The sources that push webhooks (a ``webhook`` block in ``sources.yaml``)."""
    from waybill.sources import load_sources

    return sorted(name for name, source in load_sources().items() if source.webhook is not None)


def new_secrets(carriers: list[str]) -> dict[str, str]:
    """A fresh random signing secret per carrier."""
    return {carrier: secrets.token_urlsafe(32) for carrier in carriers}


def sandbox_env(carrier_secrets: dict[str, str]) -> dict[str, str]:
    """The sandbox child's variables that make it sign with ``carrier_secrets``."""
    return {
        f"WAYBILL_SANDBOX_WEBHOOK_SECRET_{carrier.upper()}": secret
        for carrier, secret in carrier_secrets.items()
    }


@contextlib.contextmanager
def receiver(
    carrier_secrets: dict[str, str], port: int, log_path: Path, env: dict[str, str]
) -> Iterator[str]:
    """Run ``waybill webhooks serve`` on loopback ``port`` verifying with ``carrier_secrets``;
    yield its base URL; stop it on exit. ``env`` is the child's base environment."""
    child_env = {
        **env,
        **{
            f"WAYBILL_WEBHOOK_SECRET_{carrier.upper()}": secret
            for carrier, secret in carrier_secrets.items()
        },
    }
    command = [
        str(Path(sys.executable).with_name("waybill")),
        "webhooks",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    base_url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env)
        try:
            _wait_until_up(base_url, process, log_path)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + RECEIVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"waybill webhooks serve exited with {process.returncode}: see {log_path}"
            )
        try:
            if requests.get(f"{base_url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"waybill webhooks serve did not answer in time: see {log_path}")


class Pusher:
    """Has the sandbox push each carrier's newly published events to the receiver.

    Each call resumes from the page token of the last page pushed; that last page is pushed
    again (the sandbox's cursor ends with it), which the receiver stores once (replay-safe).
    """

    def __init__(self, sandbox_url: str, admin_token: str, receiver_url: str, carriers: list[str]):
        self.sandbox_url = sandbox_url
        self.admin_token = admin_token
        self.receiver_url = receiver_url
        self.carriers = carriers
        self._tokens: dict[str, str | None] = dict.fromkeys(carriers)
        self.pushed: dict[str, int] = dict.fromkeys(carriers, 0)
        self.failed: dict[str, int] = dict.fromkeys(carriers, 0)

    def push(self) -> None:
        """Push every event the sandbox's clock has published since the last call."""
        for carrier in self.carriers:
            token = self._tokens[carrier]
            while True:
                answer = self._deliveries(carrier, token)
                self.pushed[carrier] += answer["delivered"]
                self.failed[carrier] += len(answer["failed"])
                following = answer.get("next_page_token")
                if not following:
                    break
                token = following
            self._tokens[carrier] = token

    def _deliveries(self, carrier: str, page_token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "url": f"{self.receiver_url}/webhooks/{carrier}",
            "limit": PUSH_PAGE,
        }
        if page_token:
            body["page_token"] = page_token
        # The sandbox's request faults (429, 5xx) hit this call too; like any client, retry.
        for attempt in range(PUSH_ATTEMPTS):
            response = requests.post(
                f"{self.sandbox_url}/carriers/{carrier}/webhooks/deliveries",
                json=body,
                headers={"Authorization": f"Bearer {self.admin_token}"},
                timeout=600,
            )
            if response.status_code != 429 and response.status_code < 500:
                break
            if attempt + 1 < PUSH_ATTEMPTS:
                wait = response.headers.get("Retry-After", "")
                time.sleep(min(float(wait), 5.0) if wait.replace(".", "", 1).isdigit() else 0.2)
        response.raise_for_status()
        return response.json()


def webhook_counts(conn: Any, carriers: list[str]) -> dict[str, dict[str, int]]:
    """Per carrier: webhook events ``landed`` (rows in ``raw.<carrier>__webhook_events``),
    ``canonical`` (their events in ``raw.carrier_events``, first landed by the push) and
    ``modelled`` (rows of ``marts.fct_shipment_milestones`` whose channel is ``webhook``)."""
    from psycopg import sql

    from waybill.sources import raw_table_name

    counts: dict[str, dict[str, int]] = {}
    for carrier in carriers:
        table = raw_table_name(carrier, "webhook_events")
        counts[carrier] = {
            "landed": _count(
                conn, sql.SQL("select count(*) from {}").format(sql.Identifier("raw", table))
            ),
            "canonical": _count(
                conn,
                sql.SQL("select count(*) from raw.carrier_events where raw_table = {}").format(
                    sql.Literal(table)
                ),
            ),
            "modelled": _count(
                conn,
                sql.SQL(
                    "select count(*) from marts.fct_shipment_milestones"
                    " where source_channel = 'webhook' and carrier_code = {}"
                ).format(sql.Literal(carrier)),
            ),
        }
    return counts


def _count(conn: Any, query: Any) -> int:
    try:
        row = conn.execute(query).fetchone()
    except Exception:  # the table does not exist when nothing reached that stage
        conn.rollback()
        return 0
    return int(row[0]) if row else 0
