"""The browser leg: Playwright for Python driving Debian's chromium against pytest-django's live
server. Never a downloaded browser: the binary is /usr/bin/chromium or $GUANXI_CHROMIUM.

One chromium per session (start-up is the slow part), a fresh context per test so that cookies,
language and storage never leak from one test to the next.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# (fixtures, assertions on the database) would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# Generous for a loaded CI machine, short enough that a hang fails fast instead of eating the leg.
TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
def _fast_password_hashes(settings: Any) -> None:
    """Argon2 costs about a third of a second per hash here, and every test creates the whole
    organisation (nine users) and signs in through the form. The browser leg tests the pages, not
    the hasher (the accounts tests cover Argon2), so it hashes fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _static_files_by_plain_name(settings: Any) -> None:
    """The live server serves static files from the finders, under their plain names. The
    production storage would hand out hashed names from a manifest whenever a collectstatic has
    run into the data directory (for instance after `make demo`), and every asset would 404."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        skip_or_fail("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What the page complained about: console errors, uncaught exceptions, CSP violations."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.console_errors, *self.page_errors]


# Registered before any page script runs (CDP injects it, so the page's CSP does not apply to it):
# every CSP violation is recorded in window.__cspViolations, which the tests read back.
_CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline") +
    " " + (event.sourceFile || "") + ":" + (event.lineNumber || 0));
});
"""


def _make_context(browser: Any, locale: str) -> Any:
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.add_init_script(_CSP_RECORDER)
    return context


@pytest.fixture
def page_factory(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """new_page(locale="zh-CN") -> a page in its own context; `page.problems` collects errors."""
    contexts: list[Any] = []

    def new_page(locale: str = "zh-CN") -> Any:
        context = _make_context(browser, locale)
        contexts.append(context)
        page = context.new_page()
        problems = PageProblems()
        page.on(
            "console",
            lambda message: (
                problems.console_errors.append(f"{message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
        page.problems = problems
        return page

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_factory: Callable[..., Any]) -> Any:
    """A page whose browser asks for Chinese (zh-CN), like most of Guanxi's users."""
    return page_factory("zh-CN")


def login(page: Any, live_server: Any, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the real login form and wait for the page it leads to."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")
    return page


def csp_violations(page: Any) -> list[str]:
    return page.evaluate("window.__cspViolations || []")
