"""Event-driven ingestion: the webhook receiver's stores wake the ingestion DAG in seconds.

When ``waybill webhooks serve`` stores a new event it also sends, in the same transaction, a
Postgres ``NOTIFY`` (:mod:`waybill.load.landed`) naming the raw table (delivered only if the event
committed). :class:`RawLandedTrigger` ``LISTEN``\\ s on that channel in Airflow's triggerer, as
the watcher of a "pushed" Asset per system (:func:`pushed_asset`); the system's ingestion DAG is
scheduled on its cron *or* that Asset, so a push starts a run at once instead of at the next
quarter hour, and the cron stays as the backstop (a notification sent while no triggerer listened
is picked up by the next cron run: ingestion reads by watermark, not by notification).

No Airflow credentials in the receiver, no polling of the warehouse: one idle connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from waybill.load.landed import CHANNEL

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

# Pushes arrive in bursts (a carrier's batch): gather those within this window into one event.
SETTLE_S = 0.5


class RawLandedTrigger(BaseEventTrigger):
    """Yield one event each time rows land in any of ``tables`` (``raw.<table>`` names).

    Connects as the loader role (the role the ingestion it wakes runs as; LISTEN needs no grant).
    """

    def __init__(self, tables: list[str], settle_s: float = SETTLE_S) -> None:
        super().__init__()
        self.tables = sorted(tables)
        self.settle_s = settle_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and kwargs (the tables and the settle window)."""
        return f"{__name__}.{type(self).__name__}", {
            "tables": self.tables,
            "settle_s": self.settle_s,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Listen; after a matching notification, wait ``settle_s`` for more, then yield once."""
        import psycopg

        from waybill import warehouse

        conninfo = warehouse.role_location("loader").conninfo()
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await conn.execute(f"listen {CHANNEL}")
            self.log.info("listening on %s for %s", CHANNEL, ", ".join(self.tables))
            while True:
                landed: set[str] = set()
                async for notify in conn.notifies():
                    if notify.payload in self.tables:
                        landed.add(notify.payload)
                        break
                async for notify in conn.notifies(timeout=self.settle_s):
                    if notify.payload in self.tables:
                        landed.add(notify.payload)
                self.log.info("rows landed in %s", ", ".join(sorted(landed)))
                yield TriggerEvent({"tables": sorted(landed)})


def pushed_asset(system: str, tables: list[str]) -> Asset:
    """The Asset "pushes stored for ``system``", watched by a :class:`RawLandedTrigger`."""
    trigger = RawLandedTrigger(tables=tables)
    return Asset(
        f"webhooks.{system}.pushed",
        watchers=[AssetWatcher(name=f"{system}_pushes_landed", trigger=trigger)],
    )
