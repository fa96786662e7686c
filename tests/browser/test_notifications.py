"""The bell and the notifications page in a real browser: the count arrives by HTMX, marking a
notification read swaps its row and the bell follows without a page load."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext_lazy, gettext_noop
from playwright.sync_api import expect

from guanxi.notifications.kinds import _KINDS, notification_kind_register
from guanxi.notifications.services import notify
from tests.browser.conftest import csp_violations, login

pytestmark = pytest.mark.browser


@pytest.fixture
def _browser_kind():
    notification_kind_register("browser_test", gettext_lazy("Test due"))
    yield
    _KINDS.pop("browser_test", None)


@pytest.mark.usefixtures("_browser_kind")
def test_bell_counts_and_mark_read_updates_it_in_place(page, live_server, org):
    message = gettext_noop("%(name)s was moved to the recycle bin.")
    first, _second = (
        notify(recipients=[org.rep], kind="browser_test", message=message, params={"name": n})[0]
        for n in ("华为", "中兴")
    )
    login(page, live_server, org.rep.username)
    # the bell shows the unread count once HTMX has loaded it
    expect(page.get_by_test_id("notification-unread-count")).to_have_text("2")
    # the bell is a link to the notifications page
    with page.expect_navigation():
        page.get_by_test_id("notification-bell").click()
    assert page.url == f"{live_server.url}/notifications/"
    expect(page.get_by_test_id("notification-text")).to_have_text(
        ["中兴 已移入回收站。", "华为 已移入回收站。"]
    )
    page.evaluate("window.__guanxiNoReload = true")
    # when one is marked read
    page.locator(f"#notification-{first.pk}").get_by_test_id("notification-mark-read").click()
    # then its row loses the button and the bell counts one, without a page load
    expect(
        page.locator(f"#notification-{first.pk}").get_by_test_id("notification-mark-read")
    ).to_have_count(0)
    expect(page.get_by_test_id("notification-unread-count")).to_have_text("1")
    assert page.evaluate("window.__guanxiNoReload === true")
    first.refresh_from_db()
    assert first.is_read
    assert csp_violations(page) == []
    assert page.problems.all() == []
