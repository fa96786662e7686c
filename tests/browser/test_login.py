"""The login form in a real browser: wrong passwords and the lockout."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def _submit(page, live_server, username, password):
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")


def test_wrong_password_shows_an_error_and_stays_on_login(page_factory, live_server, org):
    page = page_factory("en-US")
    page.goto(f"{live_server.url}/accounts/login/")

    _submit(page, live_server, org.rep.username, "not-the-password")

    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)


def test_lockout_after_repeated_failures(page_factory, live_server, org):
    page = page_factory("en-US")
    page.goto(f"{live_server.url}/accounts/login/")

    # given as many wrong passwords as the limit allows
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _submit(page, live_server, org.rep.username, "not-the-password")

    # then the form says the account is locked, and even the right password does not get in
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    page.goto(f"{live_server.url}/accounts/login/")
    _submit(page, live_server, org.rep.username, PASSWORD)
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    expect(page.get_by_test_id("current-user")).to_have_count(0)
