"""Open a finance report in headless Chromium (Playwright) and read its figures back."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test, saying why, when Chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"headless Chromium not installed at {CHROMIUM} (apt-get install chromium)")


def read_report(index: Path, screenshot: Path) -> dict[str, Any]:
    """Render ``index`` with every network request refused; return its figures and what it asked for.

    Returns ``posted``, ``held``, ``posted_by_currency`` (currency → (count, amount text)),
    ``holds_by_rule`` (rule → count), ``business_holds`` (the mart's hold reason → shipments),
    ``business_held``, ``evidence_sections`` (their ids), ``expectation_rows`` and ``network``
    (requests other than ``file:`` the page tried to make; it must make none).
    """
    from playwright.sync_api import sync_playwright

    network: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="waybill-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()

            def refuse(route) -> None:
                if not route.request.url.startswith("file:"):
                    network.append(route.request.url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", refuse)
            page.goto(index.resolve().as_uri())
            page.wait_for_selector("#posted-count")
            figures = {
                "title": page.title(),
                "posted": int(page.inner_text("#posted-count")),
                "held": int(page.inner_text("#held-count")),
                "posted_by_currency": {
                    row.get_attribute("data-currency"): (
                        int(row.query_selector(".run-count").inner_text()),
                        row.query_selector(".run-amount").inner_text(),
                    )
                    for row in page.query_selector_all("#posted-by-currency tr[data-currency]")
                },
                "holds_by_rule": {
                    row.get_attribute("data-rule"): int(
                        row.query_selector(".hold-count").inner_text()
                    )
                    for row in page.query_selector_all("#holds-by-rule tr[data-rule]")
                },
                "business_holds": {
                    row.get_attribute("data-reason"): int(
                        row.query_selector(".business-hold-count").inner_text()
                    )
                    for row in page.query_selector_all("#business-holds tr[data-reason]")
                },
                "business_held": int(page.inner_text("#business-held-count")),
                "evidence_sections": [
                    section.get_attribute("id")
                    for section in page.query_selector_all("section.evidence")
                ],
                "expectation_rows": len(page.query_selector_all("#expectations tr[data-rule]")),
                "has_trend_chart": page.query_selector("svg#trend") is not None,
                "network": network,
            }
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return figures
