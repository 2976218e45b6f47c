"""One ``sync_crm`` run: compare what the CRM should show (the marts) with what it acknowledged
(``ops.crm_sync_state``) and send only the difference, in bulk batches.

* a status record is sent when the shipment's customer-visible status changed;
* a case is opened once per (shipment, exception) and updated — never duplicated — when its
  evidence changes or its exception clears (status ``case_status.cleared``);
* each batch's outcome is written in one transaction after the CRM answers: a crash between
  the CRM's acceptance and that commit resends the batch next run, which the CRM's upsert by
  external id absorbs (nothing duplicated);
* a record the CRM refuses (422, 409) goes to ``ops.dead_letters`` with the CRM's message and
  is not resent until its content changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from waybill import warehouse
from waybill.connections import get_endpoint
from waybill.crm.client import CONNECTION_ID, CrmClient
from waybill.crm.desired import Desired, desired_records
from waybill.crm.mapping import load_mapping
from waybill.load.copy import chunked

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

    from waybill.crm.mapping import CrmMapping

log = logging.getLogger(__name__)


def payload_hash(payload: dict[str, Any]) -> str:
    """MD5 of the canonical JSON text of ``payload`` (keys sorted, no whitespace)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def acknowledged_state(conn: psycopg.Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """``ops.crm_sync_state`` by (object, external id): payload hash, payload, is_open."""
    with conn.cursor() as cur:
        cur.execute(
            "select object, external_id, order_number, exception, payload, payload_hash, is_open"
            " from ops.crm_sync_state"
        )
        return {
            (row[0], row[1]): {
                "order_number": row[2],
                "exception": row[3],
                "payload": row[4],
                "hash": row[5],
                "is_open": row[6],
            }
            for row in cur.fetchall()
        }


def changes_to_send(
    desired: list[Desired], state: dict[tuple[str, str], dict[str, Any]], mapping: CrmMapping
) -> list[Desired]:
    """The records whose wanted payload differs from the acknowledged one, plus an update for
    every acknowledged open case whose exception no longer stands."""
    wanted = {(d.object, d.external_id): d for d in desired}
    out = [
        d for key, d in wanted.items() if state.get(key, {}).get("hash") != payload_hash(d.payload)
    ]
    for (obj, external_id), known in sorted(state.items()):
        if obj != mapping.case_object or (obj, external_id) in wanted or not known["is_open"]:
            continue
        cleared = {**known["payload"], "status": mapping.case_cleared}
        out.append(
            Desired(obj, external_id, known["order_number"], known["exception"], cleared, False)
        )
    return out


STATE_UPSERT = """
insert into ops.crm_sync_state (
    object, external_id, order_number, exception, payload, payload_hash,
    outcome, crm_version, crm_message, is_open, run_id
) values (%s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s)
on conflict (object, external_id) do update set
    payload = excluded.payload, payload_hash = excluded.payload_hash,
    outcome = excluded.outcome,
    crm_version = coalesce(excluded.crm_version, ops.crm_sync_state.crm_version),
    crm_message = excluded.crm_message, is_open = excluded.is_open,
    acknowledged_at = now(), run_id = excluded.run_id
"""
# Keyed like the loader's dead letters: the same refusal of the same content counts once.
DEAD_LETTER_INSERT = """
insert into ops.dead_letters (
    dead_letter_key, batch_id, source, entity, record_location, field, reason, raw_record
) values (
    md5(concat_ws('|', 'crm_sync', %s::text, %s::text, %s::text, %s::text, %s::text)),
    %s, 'crm_sync', %s, %s, %s, %s, %s
)
on conflict (dead_letter_key) do nothing
"""


def record_batch(
    conn: psycopg.Connection,
    run_id: str,
    batch: list[Desired],
    results: list[dict[str, Any]],
) -> tuple[int, int]:
    """Write one batch's outcome (sync state, dead letters) in one transaction; return
    (acknowledged, rejected)."""
    batch_id = uuid.uuid4()
    states, letters = [], []
    for item, result in zip(batch, results, strict=True):
        ok = bool(result.get("success"))
        errors = result.get("errors") or []
        message = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors) or None
        raw = json.dumps(item.payload, sort_keys=True, default=str)
        states.append(
            (
                item.object,
                item.external_id,
                item.order_number,
                item.exception,
                raw,
                payload_hash(item.payload),
                "acknowledged" if ok else "rejected",
                result.get("version"),
                message,
                item.is_open,
                run_id,
            )
        )
        if not ok:
            field = errors[0].get("field") if errors else None
            reason = f"CRM {result.get('status_code')}: {message or 'rejected'}"
            key = (item.object, item.external_id, field, reason, raw)
            letters.append((*key, batch_id, *key))
    with conn.transaction(), conn.cursor() as cur:
        # executemany pipelines the statements: one round trip per batch, not per record.
        cur.executemany(STATE_UPSERT, states)
        if letters:
            cur.executemany(DEAD_LETTER_INSERT, letters)
    return len(states) - len(letters), len(letters)


def run_sync(
    run_id: str,
    *,
    mapping_path: str | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> dict[str, int | str]:
    """Sync the marts to the CRM (connection ``crm_api``) and return the run's counts.

    Reads the marts and ``ops.crm_sync_state``; writes the CRM, ``ops.crm_sync_state``,
    ``ops.crm_sync_runs`` and ``ops.dead_letters``. ``on_batch(object, n)`` is called after each
    batch is recorded. Raises ``MissingConnection``, ``CrmError`` or ``SourceUnavailable`` (the
    batches recorded so far stay recorded).
    """
    mapping = load_mapping(mapping_path)
    client = CrmClient(get_endpoint(CONNECTION_ID))
    crm_clock = client.authenticate()
    with warehouse.connect(role="crm") as conn:
        with conn.transaction():
            conn.execute(
                "insert into ops.crm_sync_runs (run_id, crm_clock) values (%s, %s)"
                " on conflict (run_id) do update set started_at = now(), finished_at = null,"
                " crm_clock = excluded.crm_clock, status = 'running'",
                (run_id, crm_clock),
            )
        desired = desired_records(conn, mapping, crm_clock)
        pending = changes_to_send(desired, acknowledged_state(conn), mapping)
        conn.commit()
        sent = acknowledged = rejected = 0
        # Statuses first: a case names a shipment the CRM already knows.
        for obj in (mapping.status_object, mapping.case_object):
            items = [d for d in pending if d.object == obj]
            for batch in chunked(items, client.batch_size):
                records = [{"external_id": d.external_id, **d.payload} for d in batch]
                results = client.upsert(obj, records)
                sent += len(batch)
                ok, bad = record_batch(conn, run_id, batch, results)
                acknowledged, rejected = acknowledged + ok, rejected + bad
                if on_batch is not None:
                    on_batch(obj, len(batch))
        counts: dict[str, int | str] = {
            "crm_clock": crm_clock.isoformat(),
            "desired": len(desired),
            "sent": sent,
            "acknowledged": acknowledged,
            "rejected": rejected,
        }
        with conn.transaction():
            conn.execute(
                "update ops.crm_sync_runs set finished_at = now(), desired = %s, sent = %s,"
                " acknowledged = %s, rejected = %s, status = 'succeeded' where run_id = %s",
                (len(desired), sent, acknowledged, rejected, run_id),
            )
    log.info("sync_crm %s: %s", run_id, counts)
    return counts
