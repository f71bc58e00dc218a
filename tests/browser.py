"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Use from a test module:

    pytest_plugins = ["tests.browser"]          # or: from tests.browser import browser_page

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_something(browser_page, report_viewer):
        log_in(browser_page, report_viewer.username)
        browser_page.goto("/reports/")

`browser_page` is a fresh page (own cookies) whose relative URLs go to the live server.
Playwright cannot download its browser here: `scripts/ensure_chromium.sh` installs Debian's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
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
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/ensure_chromium.sh)")
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous, so tell Django not to refuse them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": 1366, "height": 900},
        accept_downloads=True,
        timezone_id="America/New_York",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login page, as a person would."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    assert "/accounts/login/" not in page.url, f"login failed for {username}"


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
