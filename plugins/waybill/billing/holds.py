"""Invoice holds: the gate's row-level decision, written set-based from the suite's own rule SQL.

Each row-scope critical rule of ``billing_ready`` is one query returning the invoices that break
it; their union is the set of (invoice, rule) failing now. Open holds are kept (last seen
updated), new ones added, and holds whose rule no longer fails are released — so a held invoice
goes back to the outbox on the first run after its data is fixed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

from expectations.suites import billing_ready

if TYPE_CHECKING:
    import psycopg

    from expectations.rules import SqlRule


def hold_rules() -> tuple[SqlRule, ...]:
    """The rules that hold single invoices: row scope, critical."""
    return tuple(
        r for r in billing_ready.ROW_RULES if r.scope == "row" and r.severity == "critical"
    )


def apply_holds(conn: psycopg.Connection, run_id: str | None, schema: str = "marts") -> dict:
    """Write ``ops.billing_holds`` for what fails now and release what no longer fails.

    Runs in the caller's transaction (the gate decision: holds and outbox commit together).
    Returns ``{"held_invoices": n, "new_holds": n, "released_holds": n}``.
    """
    batch = f"{schema}.{billing_ready.TABLE}"
    conn.execute(
        "create temp table if not exists waybill_gate_failures"
        " (invoice_id text, rule text, severity text, observed_value text) on commit drop"
    )
    conn.execute("truncate waybill_gate_failures")
    for rule in hold_rules():
        conn.execute(
            sql.SQL(
                "insert into waybill_gate_failures"
                " select failing.invoice_id, {rule}, {severity}, failing.observed_value::text"
                " from ({query}) as failing where failing.invoice_id is not null"
            ).format(
                rule=sql.Literal(rule.name),
                severity=sql.Literal(rule.severity),
                query=sql.SQL(rule.sql(batch, schema)),
            )
        )
    with conn.cursor() as cur:
        cur.execute(
            """
            insert into ops.billing_holds as holds (
                invoice_id, rule, severity, observed_value, run_id, last_seen_run_id
            )
            select
                invoice_id, rule, min(severity),
                left(string_agg(distinct observed_value, '; '), 1000), %(run)s, %(run)s
            from waybill_gate_failures
            group by invoice_id, rule
            on conflict (invoice_id, rule) where released_at is null do update
                set last_seen_at = now(),
                    last_seen_run_id = excluded.last_seen_run_id,
                    observed_value = excluded.observed_value
            returning (xmax = 0) as inserted
            """,
            {"run": run_id},
        )
        new_holds = sum(1 for (inserted,) in cur if inserted)
        cur.execute(
            """
            update ops.billing_holds as holds
            set released_at = now(), released_run_id = %s
            where
                released_at is null
                and not exists (
                    select 1 from waybill_gate_failures as failures
                    where failures.invoice_id = holds.invoice_id
                        and failures.rule = holds.rule
                )
            """,
            (run_id,),
        )
        released = cur.rowcount
        cur.execute("select count(distinct invoice_id) from waybill_gate_failures")
        row = cur.fetchone()
        assert row is not None  # an aggregate without group by returns one row
        held = row[0]
    return {"held_invoices": held, "new_holds": new_holds, "released_holds": released}
