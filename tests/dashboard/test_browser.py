"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

It loads the list, opens the failed workflow, finds the failed step marked
on its timeline, forks the workflow past the (now fixed) failure, completes
the waiting one's callback through its form, and saves screenshots (into
``docs/`` for the README when ``WAKU_SCREENSHOTS=docs``).

Needs ``/usr/bin/chromium`` (``apt-get install chromium``); never a browser
downloaded by ``playwright install``. Without it the test is skipped, except
under ``CI=true``, where it must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Dashboard
from .flows import SCRIPT, broken, tokens

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The README's screenshots are refreshed with WAKU_SCREENSHOTS=docs; a plain run keeps
# its screenshots out of the working tree.
DOCS_FOLDER = Path(__file__).resolve().parents[2] / "docs"
HOW = (
    "the browser test needs Debian's Chromium at /usr/bin/chromium: "
    "run `apt-get install -y chromium`, then `make test` (or `CI=true make test` to require it)"
)

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but {HOW}")
    pytest.skip(HOW, allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            yield page
            assert dialogs == [], "a stored <script> ran in the page"
        finally:
            browser.close()


def test_the_dashboard_in_chromium(dashboard: Dashboard, browser_page: Any, tmp_path: Path) -> None:
    page, expect = browser_page, sync_api.expect
    DOCS = DOCS_FOLDER if os.environ.get("WAKU_SCREENSHOTS") == "docs" else tmp_path

    page.goto(dashboard.url)
    expect(page.locator("h1")).to_have_text("Workflows")
    expect(page.locator("tbody tr")).to_have_count(4)
    expect(page.get_by_role("link", name=SCRIPT)).to_be_visible()  # shown as text, not run
    page.screenshot(path=str(DOCS / "dashboard-list.png"))

    page.get_by_role("link", name="order-2").click()
    failed = page.locator('.timeline g.step[data-status="failed"]')
    expect(failed).to_have_count(1)
    expect(failed).to_have_attribute("data-step", "2")
    expect(failed.locator("rect.bar.failed")).to_be_visible()
    expect(page.locator("details#step-2 pre.error")).to_contain_text("payment service refused")
    page.locator("details#step-1 summary").click()  # a step's input and output on click
    expect(page.locator("details#step-1")).to_contain_text('"reservation": "R-2"')
    page.screenshot(path=str(DOCS / "dashboard-workflow.png"), full_page=True)

    broken["charge"] = False  # the bug is fixed: fork from the step it broke
    fork = page.locator('form[action="/fork"]')
    expect(fork.locator("select")).to_have_value("2")
    fork.locator('input[name="new_id"]').fill("order-2-fixed")
    fork.get_by_role("button", name="Fork").click()
    expect(page.locator("h1")).to_contain_text("order-2-fixed")
    expect(page.locator("h1 .badge")).to_have_text("succeeded")
    expect(page.locator(".note")).to_contain_text("Forked order-2 from step 2")
    expect(page.locator('.timeline g.step[data-status="succeeded"]')).to_have_count(3)
    page.screenshot(path=str(DOCS / "dashboard-fork.png"), full_page=True)

    page.goto(dashboard.url + "?status=waiting")
    page.get_by_role("link", name="expense-3").click()
    expect(page.locator('.timeline g.step[data-status="waiting"]')).to_have_count(1)
    complete = page.locator('form[action="/complete"]')
    complete.locator('input[name="token"]').fill(tokens[-1])  # as from the approval link
    complete.locator('input[name="payload"]').fill('{"by": "ana"}')
    page.screenshot(path=str(DOCS / "dashboard-callback.png"), full_page=True)
    complete.get_by_role("button", name="Complete").click()
    expect(page.locator(".note").first).to_contain_text("Callback delivered")
    expect(page.locator("h1 .badge")).to_have_text("succeeded")
    expect(page.locator('.timeline g.step[data-status="succeeded"]')).to_have_count(3)
