"""The needs database in a real browser: a rep closes a need from the customer page's Needs card
(HTMX swaps the row, the page stays), opens the needs page from the navigation, where the unmet
view counts per category and a filter narrows the list and the counts in place. Screenshots go
to test-results/. No CSP violation, no console error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from guanxi.customers.models import Need
from tests.browser.conftest import csp_violations, login
from tests.customers.conftest import make_customer, make_need, need_category

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def need_data(transactional_db):
    """The live server's flush after each earlier test empties the tables that migrations seed;
    seed the preset tags and the need categories again, the way the migrations do."""
    import importlib

    from django.apps import apps

    for module in (
        "guanxi.customers.migrations.0003_preset_tags",
        "guanxi.customers.migrations.0011_needs",
    ):
        importlib.import_module(module).seed(apps, None)


def test_rep_closes_a_need_in_place_and_reads_the_unmet_view(page, live_server, org, need_data):
    customer = make_customer(org.rep, "华东精密机械有限公司")
    need = make_need(customer, "首批货物开工前到场", fit_status="partial", priority="high")
    make_need(customer, "IP65 防护", category=need_category("delivery"), fit_status="unmet")
    make_need(make_customer(org.rep, "华东物流有限公司"), "送货上门", fit_status="met")
    login(page, live_server, org.rep.username)

    # the Needs card closes a need without leaving the page
    url = f"{live_server.url}/customers/{customer.pk}/"
    page.goto(url)
    row = page.locator(f"#need-{need.pk}")
    expect(row).to_be_visible()
    row.get_by_test_id("need-status-button").click()
    expect(page.locator(f"#need-{need.pk}").get_by_test_id("need-closed")).to_be_visible()
    assert page.url == url
    need.refresh_from_db()
    assert need.status == Need.Status.CLOSED
    page.screenshot(path=str(SCREENSHOTS / "needs-customer-card.png"), full_page=True)

    # the navigation leads to the needs page and its unmet view
    with page.expect_navigation():
        page.locator("#sidebar-menu a.nav-link[href='/customers/needs/']").click()
    summary = page.get_by_test_id("unmet-summary")
    expect(summary.get_by_test_id("unmet-group")).to_have_count(1)  # the closed one left it
    expect(page.get_by_test_id("need-row")).to_have_count(2)

    # a filter narrows the list and the counts in place (HTMX), and the URL follows
    page.select_option("select[name=fit_status]", "met")
    expect(page.get_by_test_id("need-row")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/customers/needs/\?.*fit_status=met"))
    page.screenshot(path=str(SCREENSHOTS / "needs-page.png"), full_page=True)

    assert csp_violations(page) == []
    assert page.problems.console_errors == [] and page.problems.page_errors == []
