"""The Airflow UI that ``make airflow`` serves, in a real headless Chromium (Debian's, via Playwright).

The stack is the one ``waybill ui`` starts (:class:`waybill.airflow_stack.AirflowStack`, LocalExecutor);
the dbt docs are generated as ``waybill ui`` generates them. The browser logs in with the
stack's admin login, sees every DAG of ``dags/`` and no import error, then opens *Browse → dbt
Docs* (cosmos's plugin, served by the api-server) and finds the project's models. Screenshots go to
``build/reports/airflow-ui/``.
"""

from __future__ import annotations

import re
import tempfile

import pytest

from tests.billing.report_browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from waybill import dbt_docs, runtime
from waybill.airflow_stack import UI_USER, AirflowStack

pytestmark = pytest.mark.e2e

SCREENSHOTS = runtime.BUILD_DIR / "reports" / "airflow-ui"
TIMEOUT_MS = 120_000


def test_ui_shows_every_dag_without_import_errors_and_the_dbt_docs(airflow_db, tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    assert dbt_docs.generate() is not None, dbt_docs.LOG_FILE.read_text()[-2000:]
    dag_ids = sorted(path.stem for path in runtime.DAGS_FOLDER.rglob("*.py"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (
        AirflowStack(tmp_path / "airflow", metadata_database="airflow_ui_test") as stack,
        tempfile.TemporaryDirectory(prefix="waybill-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        stack.wait_for_dags(dag_ids)
        assert stack.import_errors() == []
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{stack.base_url}/auth/login?next=%2Fdags")
            page.fill("input[name=username]", UI_USER)
            page.fill("input[name=password]", stack.password)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/dags$"))
            page.wait_for_selector(f"text={dag_ids[-1]}")
            body = page.inner_text("body")
            page.screenshot(path=str(SCREENSHOTS / "dags.png"), full_page=True)
            assert f"{len(dag_ids)} Dags" in body
            assert [dag_id for dag_id in dag_ids if dag_id not in body] == []
            assert "import error" not in body.lower()

            # cosmos's plugin links its page from the Browse menu; it opens in a new tab.
            page.get_by_role("button", name="Browse").click()
            with browser.expect_page() as opened:
                page.get_by_role("menuitem", name="dbt Docs").click()
            docs = opened.value
            docs.set_default_timeout(TIMEOUT_MS)
            # The model tree comes from manifest.json, which the plugin serves next to the page.
            docs.get_by_text("fct_shipments").first.wait_for(state="attached")
            docs.wait_for_load_state("networkidle")
            docs.screenshot(path=str(SCREENSHOTS / "dbt-docs.png"))
            assert docs.url.startswith(f"{stack.base_url}{dbt_docs.UI_PATH}")
            assert "dbt Docs" in docs.title() or "dbt" in docs.inner_text("body")
        finally:
            browser.close()
