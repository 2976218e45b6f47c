"""The "rows landed" notification: a Postgres ``NOTIFY`` naming the raw table, sent at commit.

The webhook receiver sends it for each new event it stores; Airflow's triggerer listens for it
(:mod:`waybill.orchestration.landed`) to start the ingestion DAG at once. No Airflow import here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

CHANNEL = "waybill_raw_landed"


def notify_landed(conn: psycopg.Connection, table: str) -> None:
    """Send the landed notification for ``raw.<table>`` on ``conn`` (delivered at its commit)."""
    conn.execute("select pg_notify(%s, %s)", (CHANNEL, table))
