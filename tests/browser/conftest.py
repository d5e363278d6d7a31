"""Playwright (Python) in Debian's headless Chromium against Django's live server.

A screenshot of the page is saved under ``test-artifacts/`` when a browser test fails.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest

from maillage.accounts.models import User
from tests.directory.factories import ContactFactory

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium introuvable : `make test` l'installe (apt-get install chromium).")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
    # itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def _wait_for_function(page, expression: str, timeout: float = 30_000, **_ignored) -> None:
    """Playwright's wait_for_function compiles its predicate with eval() inside the page, which
    the site's Content-Security-Policy (no 'unsafe-eval') rightly refuses; page.evaluate runs
    through the browser's debugging protocol instead. Same contract: poll until truthy."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(100)


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    # Whatever the Content-Security-Policy blocks (an inline style or script, a foreign host)
    # Chromium reports on the console: every browser test then fails on it.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.wait_for_function = functools.partial(_wait_for_function, page)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not blocked, blocked


@pytest.fixture
def brie(reference_data, make_chamber, make_establishment, make_user):
    """Chamber 77 and its advisor « conseillere »; in Melun the sawmill « Scierie de la Brie »
    and the boiler « Chaufferie de Melun », each with a contact (Anne Scieur, Bruno Chauffe)
    and a company user (« scierie », « chaufferie »)."""
    chamber = make_chamber("cci-77", "77")
    sawmill = make_establishment("77288", name="Scierie de la Brie")
    boiler = make_establishment("77288", name="Chaufferie de Melun", naf="35.30Z")
    ContactFactory(
        establishment=sawmill, first_name="Anne", last_name="Scieur", email="anne@brie.test"
    )
    ContactFactory(
        establishment=boiler, first_name="Bruno", last_name="Chauffe", email="bruno@melun.test"
    )
    make_user("conseillere", User.Role.ADVISOR, chamber)
    make_user("scierie", User.Role.COMPANY, establishments=[sawmill])
    make_user("chaufferie", User.Role.COMPANY, establishments=[boiler])
    return {"chamber": chamber, "sawmill": sawmill, "boiler": boiler}
