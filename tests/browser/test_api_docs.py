"""The API docs page in a real browser: Swagger UI must run under the strict CSP."""

from __future__ import annotations

import pytest

from tests.browser.conftest import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_every_operation_without_csp_violations(page, live_server):
    # when the docs page is opened
    response = page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=15_000)

    # then it renders every operation under the same strict policy as the rest of the site
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator(".opblock").count() >= 10
    assert page.get_by_text("/api/v1/audit").first.is_visible()
    assert csp_violations(page) == []
    assert page.problems.all() == []
