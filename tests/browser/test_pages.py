"""Every built page loads cleanly in a real browser: htmx and Tabler load, nothing breaks the
Content Security Policy, and the console stays free of errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import csp_violations, login

pytestmark = pytest.mark.browser


def _assert_clean(page, path):
    assert page.evaluate("typeof window.htmx") == "object", f"htmx did not load on {path}"
    assert page.evaluate("typeof window.tabler") == "object", f"Tabler's JS did not load on {path}"
    # Tabler's stylesheet applied: the sidebar or page background is not the browser default.
    assert page.evaluate("getComputedStyle(document.body).fontFamily").lower() != "times new roman"
    assert csp_violations(page) == [], f"CSP violations on {path}"
    assert page.problems.all() == [], f"console errors on {path}"


def test_login_page_is_clean(page, live_server):
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("input[name=username]")).to_be_visible()
    _assert_clean(page, "/accounts/login/")


@pytest.mark.parametrize("path", ["/", "/accounts/users/", "/audit/"])
def test_admin_pages_are_clean(page, live_server, org, path):
    login(page, live_server, org.admin.username)
    _assert_clean(page, "/")
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 200
    assert "content-security-policy" in response.headers
    expect(page.locator("h1.page-title")).to_be_visible()
    _assert_clean(page, path)


def test_workbench_is_clean_for_a_rep(page, live_server, org):
    login(page, live_server, org.rep.username)
    assert page.url == f"{live_server.url}/"
    _assert_clean(page, "/")


def test_the_policy_blocks_inline_script_and_the_check_sees_it(page, live_server):
    """Guards the checks above: an inline script is refused and recorded, so "no violations"
    means something."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.body.appendChild(script);
        }"""
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__inlineRan === undefined")
    assert any(v.startswith("script-src") for v in csp_violations(page))
    assert page.problems.console_errors  # chromium reports the refusal on the console too
