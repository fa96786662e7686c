"""The history library and quarterly verification in a real browser: a rep moves a customer into
the history library with a reason, finds it under the library's tab, opens the churn-reason
breakdown (an ECharts bar chart drawn from a JSON script element, the CSP allowing no inline
script), then confirms a verification task. Screenshots go to test-results/. No CSP violation, no
console error."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from guanxi.customers import services
from guanxi.customers.models import Customer, VerificationTask
from tests.browser.conftest import csp_violations, login
from tests.customers.conftest import make_contact, make_customer

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def reasons(transactional_db):
    """The live server's flush after each earlier test empties the tables that migrations seed;
    seed the churn reasons again, the way the migration does."""
    import importlib

    from django.apps import apps

    importlib.import_module("guanxi.customers.migrations.0015_history_library").seed(apps, None)


def test_rep_archives_a_customer_and_reads_the_breakdown(page, live_server, org, reasons):
    customer = make_customer(org.rep, "华东精密机械有限公司")
    make_customer(org.rep, "华东物流有限公司")
    login(page, live_server, org.rep.username)

    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    with page.expect_navigation():
        page.get_by_test_id("archive-button").click()
    page.select_option("select[name=churn_reason]", "competitor")
    page.fill("textarea[name=churn_note]", "改用同行方案")
    with page.expect_navigation():
        page.locator("form[data-testid=archive-form] button.btn-primary").click()
    expect(page.get_by_test_id("history-card")).to_be_visible()
    customer.refresh_from_db()
    assert customer.lifecycle == Customer.Lifecycle.CHURNED
    assert customer.churn_reason.code == "competitor"

    # the library's tab lists it, the default list does not
    page.goto(f"{live_server.url}/customers/")
    expect(page.get_by_test_id("customer-table")).not_to_contain_text("华东精密机械有限公司")
    page.get_by_test_id("history-tab").click()
    expect(page.get_by_test_id("customer-table")).to_contain_text("华东精密机械有限公司")
    expect(page.get_by_test_id("churn-reason")).to_contain_text("转向竞争对手")

    # the breakdown draws its chart from the page's JSON, without inline script
    page.goto(f"{live_server.url}/customers/history/reasons/")
    chart = page.locator("[data-bar-chart]")
    expect(chart.locator("canvas")).to_have_count(1)
    assert chart.get_attribute("data-drawn") == "1"
    page.screenshot(path=str(SCREENSHOTS / "history-breakdown.png"), full_page=True)
    assert csp_violations(page) == []
    assert page.problems.all() == []


def test_owner_confirms_a_verification_task(page, live_server, org, reasons):
    customer = make_customer(org.rep, "华东精密机械有限公司")
    make_contact(customer, "张三", phones=["13800138000"])
    services.verification_tasks_create(actor=None)
    login(page, live_server, org.rep.username)

    page.goto(f"{live_server.url}/customers/verification/")
    with page.expect_navigation():
        page.get_by_test_id("verification-task").get_by_role("link").last.click()
    expect(page.get_by_test_id("contact-phone")).to_contain_text("13800138000")
    page.fill("textarea[name=note]", "电话回访确认")
    with page.expect_navigation():
        page.get_by_test_id("verify-button").click()
    expect(page.get_by_test_id("no-tasks")).to_be_visible()
    task = VerificationTask.objects.get(customer=customer)
    assert task.status == VerificationTask.Status.VERIFIED and task.verified_by == org.rep
    page.screenshot(path=str(SCREENSHOTS / "verification-done.png"), full_page=True)
    assert csp_violations(page) == []
    assert page.problems.all() == []
