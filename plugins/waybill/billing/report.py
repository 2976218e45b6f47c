"""The finance report of a ``post_billing`` run: ``<artifacts>/billing/<run>/index.html`` + ``latest``.

Posted invoices (count and amount by currency), the mart's business holds (reason, count,
amount at risk, oldest) and the gate's holds by rule with examples, the run's amendments and
credit notes, open disputes by reason and age, approvals waiting, invoice cycle time and
dispute rate, the evidence behind each held or disputed invoice (milestones, POD, rate-card
lines), this run's expectation results linked to its GX Data Docs, and the hold-rate trend as
an inline SVG: the page needs no network. Reads ``ops.billing_*``, the finance marts and the
run's ``gate.json`` published by the gate (see :mod:`waybill.billing.finance_story`); writes the
page to the artifacts store (:mod:`waybill.artifacts`), never to this worker's folder.
"""

from __future__ import annotations

import html
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from waybill import artifacts, warehouse
from waybill.billing.finance_story import gather_story
from waybill.billing.paths import gate_summary_path, run_folder
from waybill.quality import outcomes

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

TEMPLATES = Path(__file__).resolve().parents[3] / "include" / "templates"
TREND_RUNS = 20
# Where the report names its latest run on a store without symbolic links (object storage).
LATEST_FILE = "LATEST"


def _rows(conn, query: str, params: tuple = ()) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]


def trend_svg(points: list[tuple[str, float]], width: int = 640, height: int = 180) -> str:
    """An inline SVG line chart of hold rate (0..1) per run, oldest first."""
    if not points:
        return '<p class="muted" id="trend">No runs recorded yet.</p>'
    pad_l, pad_r, pad_t, pad_b = 44, 12, 12, 28
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max(0.05, max(rate for _, rate in points))
    step = plot_w / max(1, len(points) - 1)
    xy = [
        (pad_l + i * step, pad_t + plot_h * (1 - rate / top)) for i, (_, rate) in enumerate(points)
    ]
    parts = [
        f'<svg id="trend" role="img" aria-label="Hold rate per run" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - pad_r}" y2="{pad_t + plot_h}"'
        ' stroke="#8c959f"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + plot_h}" stroke="#8c959f"/>',
        f'<text x="{pad_l - 6}" y="{pad_t + 4}" font-size="11" text-anchor="end">{top:.0%}</text>',
        f'<text x="{pad_l - 6}" y="{pad_t + plot_h}" font-size="11" text-anchor="end">0%</text>',
        '<polyline fill="none" stroke="#0969da" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        + '"/>',
    ]
    for (run, rate), (x, y) in zip(points, xy, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#0969da">'
            f"<title>{html.escape(run)}: {rate:.1%} held</title></circle>"
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 8}" font-size="11">{html.escape(points[0][0][:32])}</text>'
    )
    parts.append(
        f'<text x="{width - pad_r}" y="{height - 8}" font-size="11" text-anchor="end">'
        f"{html.escape(points[-1][0][:32])}</text></svg>"
    )
    return "".join(parts)


def _update_latest(folder: ObjectStoragePath) -> None:
    """Point ``latest`` at ``folder``: a symbolic link on a local disk (atomic: readers never see
    a missing link), else the run folder's name in :data:`LATEST_FILE`."""
    root = folder.parent
    if not artifacts.is_local(root):
        artifacts.write_text(root / LATEST_FILE, folder.name + "\n")
        return
    local = artifacts.local_path(root)
    temporary = local / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder.name, target_is_directory=True)
    os.replace(temporary, local / "latest")


def gather(conn, run_id: str) -> dict[str, Any]:
    """Read everything the report shows for ``run_id`` (a dict for the template)."""
    from expectations.suites import billing_ready

    descriptions = {rule.name: rule.description for rule in billing_ready.RULES}
    by_currency = _rows(
        conn,
        """
        select currency,
            count(*) filter (where posted_run_id = %s) as run_count,
            coalesce(sum(total_amount) filter (where posted_run_id = %s), 0) as run_amount,
            count(*) as all_count, sum(total_amount) as all_amount
        from ops.billing_outbox where status = 'posted'
        group by currency order by currency
        """,
        (run_id, run_id),
    )
    holds = _rows(
        conn,
        """
        select rule, invoice_id, observed_value,
            to_char(held_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') as held_at,
            count(*) over (partition by rule) as rule_count,
            row_number() over (partition by rule order by held_at, invoice_id) as n
        from ops.billing_holds where released_at is null
        """,
    )
    holds_by_rule: dict[str, dict[str, Any]] = {}
    for row in holds:
        entry = holds_by_rule.setdefault(
            row["rule"],
            {
                "rule": row["rule"],
                "count": row["rule_count"],
                "description": descriptions.get(row["rule"], ""),
                "examples": [],
            },
        )
        if row["n"] <= 3:
            entry["examples"].append(row)
    held_total = conn.execute(
        "select count(distinct invoice_id) from ops.billing_holds where released_at is null"
    ).fetchone()[0]
    failed_count = conn.execute(
        "select count(*) from ops.billing_outbox where status in ('failed', 'conflict')"
    ).fetchone()[0]
    runs = _rows(
        conn,
        """
        select run_id, gate_passed, gate_message, invoices_checked, invoices_held
        from ops.billing_runs order by started_at desc limit %s
        """,
        (TREND_RUNS,),
    )
    this_run = next((r for r in runs if r["run_id"] == run_id), None)
    trend = [
        (r["run_id"], r["invoices_held"] / r["invoices_checked"])
        for r in reversed(runs)
        if r["invoices_checked"]
    ]
    return {
        **gather_story(conn, run_id),
        "posted_by_currency": [
            {
                **r,
                "run_amount": f"{r['run_amount']:,.2f}",
                "all_amount": f"{r['all_amount']:,.2f}",
            }
            for r in by_currency
        ],
        "posted_run": {"count": sum(r["run_count"] for r in by_currency)},
        "posted_all": {"count": sum(r["all_count"] for r in by_currency)},
        "holds_by_rule": sorted(holds_by_rule.values(), key=lambda e: (-e["count"], e["rule"])),
        "held_total": held_total,
        "failed_count": failed_count,
        "gate_passed": this_run["gate_passed"] if this_run else None,
        "gate_message": this_run["gate_message"] if this_run else None,
        "trend": trend,
    }


def write_report(run_id: str) -> ObjectStoragePath:
    """Write the run's ``index.html`` and point ``latest`` at it; return the page's path."""
    folder = run_folder(run_id)
    with warehouse.connect(role="poster") as conn:
        data = gather(conn, run_id)
    summary = gate_summary_path(run_id)
    found = outcomes.read(summary) if summary.exists() else []
    has_docs = (folder / outcomes.DATA_DOCS_SITE / "index.html").exists()
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    page = env.get_template("billing_report.html.j2").render(
        run_id=run_id,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        # The gate publishes its Data Docs links relative to the run folder.
        expectations=[
            {**o.__dict__, "link": o.data_docs}
            for o in sorted(found, key=lambda o: (o.success, o.suite, o.rule))
        ],
        data_docs=f"{outcomes.DATA_DOCS_SITE}/index.html" if has_docs else None,
        trend_svg=trend_svg(data.pop("trend")),
        **data,
    )
    index = folder / "index.html"
    artifacts.write_text(index, page)
    _update_latest(folder)
    return index
