"""A real server with demo data, and headless Chromium to look at it (skipped, with the reason,
where no browser or no Playwright is installed)."""

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live_server import LiveServer, serving

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`lumen serve` on a free loopback port with the demo parties, shared by the session."""
    with serving(tmp_path_factory.mktemp("live")) as server:
        yield server


def chromium_path() -> str | None:
    """The system's Chromium (Debian's `chromium` package), if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Per module, not per session: Playwright's sync API runs an event loop in this thread while it
# is open, and the async tests of the same process cannot start theirs until it is closed.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found: apt-get install chromium (as .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[browser]' (as .ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser tab that may talk to loopback only."""
    context = browser.new_context()
    # Nothing may load from the internet: every request must stay on the test server.
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        url: str = route.request.url
        if url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
    assert outside == [], f"the page tried to load from outside: {outside}"
