"""A real emulator on a free port and a real headless Chromium driven by Playwright, for the inspector page.

Chromium is Debian's (`apt-get install chromium`, which .ci/run does when it is missing); Playwright is pointed at
it and never downloads a browser of its own. Without one, the browser tests are skipped with a reason that
tests/conftest.py repeats in the run's summary; in CI (CI=true) a missing browser fails them instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from emulator.control.server import EmulatorServer
from tests.browser import NO_BROWSER

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 1000}


def chromium_path() -> str | None:
    return os.environ.get("EMULATOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"{NO_BROWSER} (the playwright package is missing: pip install -e '.[test]')"
    if chromium_path() is None:
        return f"{NO_BROWSER} (install Debian's chromium: apt-get install chromium, or set EMULATOR_CHROMIUM)"
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Playwright's sync API keeps its own event loop meanwhile)."""
    missing = missing_browser()
    if missing:
        if in_ci():
            pytest.fail(f"{missing}; in CI the browser tests must run", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import expect, sync_playwright

    # The page polls once a second; on a loaded 2-core machine a few polls may pass before it shows a change.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(browser) -> Iterator[EmulatorServer]:
    """`python -m emulator serve` on a free port, manual clocks (each test uses its own namespace)."""
    with EmulatorServer(clock="manual", seed=3) as started:
        yield started


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page's script failed: {errors}"
