"""HTMX behaviour in a real browser: parts of a page change without a full page load."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from guanxi.core.audit import audit_record
from guanxi.core.models import AuditEntry
from tests.browser.conftest import csp_violations, login

pytestmark = pytest.mark.browser

# A full page load would drop this; an htmx swap keeps it.
_MARK = "window.__guanxiNoReload = true"
_MARKED = "window.__guanxiNoReload === true"


def _htmx_response(fragment):
    return lambda response: (
        fragment in response.url and response.request.headers.get("hx-request") == "true"
    )


def test_user_search_updates_the_table_in_place(page, live_server, org):
    login(page, live_server, org.admin.username)
    page.goto(f"{live_server.url}/accounts/users/")
    rows = page.locator("#user-results tbody tr")
    expect(rows.filter(has_text=org.analyst.username)).to_have_count(1)
    expect(rows.filter(has_text=org.other_rep.username)).to_have_count(1)
    page.evaluate(_MARK)

    # when the administrator types a username into the search box
    with page.expect_response(_htmx_response("/accounts/users/?")):
        page.get_by_role("searchbox").fill(org.analyst.username)

    # then the table holds only the match, and the page was not reloaded
    expect(rows.filter(has_text=org.other_rep.username)).to_have_count(0)
    expect(rows.filter(has_text=org.analyst.username)).to_have_count(1)
    expect(rows).to_have_count(1)
    assert page.evaluate(_MARKED)
    assert "q=analyst" in page.url  # hx-push-url keeps the search bookmarkable

    # when the search is cleared, the others come back
    with page.expect_response(_htmx_response("/accounts/users/?")):
        page.get_by_role("searchbox").fill("")
    expect(rows.filter(has_text=org.other_rep.username)).to_have_count(1)
    assert page.evaluate(_MARKED)
    assert csp_violations(page) == []
    assert page.problems.all() == []


def test_audit_older_entries_appends_rows(page, live_server, org):
    for number in range(60):
        audit_record(
            actor=org.admin, action=AuditEntry.Action.ACTION, obj=org.rep, note=f"entry {number}"
        )
    login(page, live_server, org.admin.username)
    total = AuditEntry.objects.count()  # the 60, and the sign-in
    assert 50 < total <= 100

    page.goto(f"{live_server.url}/audit/")
    rows = page.locator("#audit-rows tr:not(#audit-more)")
    expect(rows).to_have_count(50)
    page.evaluate(_MARK)

    with page.expect_response(_htmx_response("cursor=")):
        page.locator("#audit-more a").click()

    # then the older entries are appended below the first 50, each once, and the button is gone
    expect(rows).to_have_count(total)
    expect(page.locator("#audit-more")).to_have_count(0)
    notes = [text for text in rows.locator("td.audit-changes").all_inner_texts() if "entry" in text]
    assert sorted(notes) == sorted(f"entry {number}" for number in range(60))
    assert page.evaluate(_MARKED)
    assert page.url == f"{live_server.url}/audit/"
    assert csp_violations(page) == []
    assert page.problems.all() == []
