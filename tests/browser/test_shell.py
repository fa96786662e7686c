"""The web shell in a real browser: sign-in, the Chinese and English shell, the language switch,
placeholder areas and sign-out."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from guanxi.core.navigation import AREAS, SETTINGS_AREAS
from tests.browser.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/guanxi-workbench.png")


def _nav_labels(user, language):
    """The sidebar entries this user should see, in the given language."""
    areas = [*AREAS, *(a for a in SETTINGS_AREAS if a.needs is None or user.can(a.needs))]
    with translation.override(language):
        return [str(area.label) for area in areas]


def _expect_shell(page, user, language, workbench):
    sidebar = page.locator("#sidebar-menu")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_test_id("current-user")).to_have_text(user.get_full_name())
    labels = _nav_labels(user, language)
    expect(sidebar.locator("a.nav-link .nav-link-title")).to_have_count(len(labels))
    expect(sidebar.get_by_role("link", name=workbench)).to_be_visible()
    expect(sidebar.locator("a.nav-link .nav-link-title")).to_have_text(labels)


def test_rep_signs_in_and_gets_the_chinese_shell_then_switches_to_english(page, live_server, org):
    # given a sales rep whose browser asks for Chinese (zh-CN)
    rep = org.rep
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert response.headers["content-language"] == "zh-hans"

    # when they sign in through the login form
    page.fill("input[name=username]", rep.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")

    # then they land on the workbench, in zh-Hans, with their name and every area in the sidebar
    assert page.url == f"{live_server.url}/"
    _expect_shell(page, rep, "zh-hans", "工作台")
    page.screenshot(path=str(SCREENSHOT))

    # when they press "English" in the language switch
    with page.expect_navigation():
        page.get_by_test_id("language-switch").get_by_role("button", name="English").click()

    # then the shell is English, on the same page
    assert page.url == f"{live_server.url}/"
    _expect_shell(page, rep, "en", "Workbench")

    # and it stays English after a reload, although the browser still asks for Chinese
    response = page.reload()
    assert response.headers["content-language"] == "en"
    _expect_shell(page, rep, "en", "Workbench")
    rep.refresh_from_db()
    assert rep.language == "en"
    assert page.problems.all() == []


def test_placeholder_area_says_it_is_not_built(page, live_server, org):
    login(page, live_server, org.rep.username)
    sales = next(area for area in AREAS if area.slug == "sales")
    assert not sales.built

    with translation.override("zh-hans"), page.expect_navigation():
        page.locator("#sidebar-menu a.nav-link", has_text=str(sales.label)).click()

    assert page.url == f"{live_server.url}/areas/sales/"
    expect(page.get_by_test_id("not-built")).to_be_visible()
    active = page.locator("#sidebar-menu li.active a")
    expect(active).to_have_attribute("aria-current", "page")
    expect(active).to_have_attribute("href", "/areas/sales/")
    # nothing on a placeholder pretends to work: no forms, no tables of data
    expect(page.locator(".page-body form")).to_have_count(0)
    expect(page.locator(".page-body table")).to_have_count(0)


def test_sign_out_from_the_user_menu(page_factory, live_server, org):
    page = page_factory("en-US")
    login(page, live_server, org.rep.username)
    sign_out = page.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_hidden()

    # when the user opens the menu (Tabler's bootstrap dropdown) and signs out
    page.locator("header [data-bs-toggle=dropdown]").click()
    expect(sign_out).to_be_visible()
    with page.expect_navigation():
        sign_out.click()

    # then they are on the login page, and the workbench asks them to sign in again
    assert page.url == f"{live_server.url}/accounts/login/"
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    assert page.problems.all() == []
