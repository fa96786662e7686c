"""The customer archive in a real browser: a rep files a customer with a contact, finds it by its
pinyin initials through the live HTMX search, and opens it. No CSP violation, no console error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from guanxi.customers.models import Contact, Customer
from tests.browser.conftest import csp_violations, login

pytestmark = pytest.mark.browser


@pytest.fixture
def reference_data(transactional_db):
    """The live server's flush after each earlier test empties the tables that migrations seed
    (regions, industries, preset tags); seed them again, the way the migrations do."""
    import importlib

    from django.apps import apps

    for module in (
        "guanxi.core.migrations.0004_region_data",
        "guanxi.customers.migrations.0002_industry_sections",
        "guanxi.customers.migrations.0003_preset_tags",
    ):
        migration = importlib.import_module(module)
        seed = getattr(migration, "load_regions", None) or migration.seed
        seed(apps, None)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def test_rep_creates_finds_and_opens_a_customer(page, live_server, org, reference_data):
    login(page, live_server, org.rep.username)

    # the navigation leads to the list
    with page.expect_navigation():
        page.locator("#sidebar-menu a.nav-link[href='/customers/']").click()
    expect(page.get_by_test_id("customer-table")).to_be_visible()

    # file a customer; the region selects cascade through HTMX
    page.goto(f"{live_server.url}/customers/new/")
    expect(page.locator("button[name=refresh_regions]")).to_be_hidden()  # JS runs: no fallback
    page.fill("input[name=name]", "华为技术有限公司")
    page.fill("input[name=short_name]", "华为")
    page.select_option("select[name=industry]", "I")
    page.select_option("select[name=province_code]", "440000")
    expect(page.locator("select[name=city_code] option[value='440300']")).to_have_count(1)
    page.select_option("select[name=city_code]", "440300")
    expect(page.locator("select[name=district_code] option[value='440305']")).to_have_count(1)
    page.select_option("select[name=district_code]", "440305")
    page.select_option("select[name=lifecycle]", "intent")
    with page.expect_navigation():
        page.locator("[data-testid=customer-form] button.btn-primary").click()
    customer = Customer.objects.get(name="华为技术有限公司")
    assert page.url == f"{live_server.url}/customers/{customer.pk}/"
    assert customer.owner == org.rep and customer.district_id == "440305"

    # add the contact from the detail page
    with page.expect_navigation():
        page.locator(f"a[href='/customers/{customer.pk}/contacts/new/']").click()
    page.fill("input[name=name]", "李四")
    page.fill("input[name=phone_1]", "13800138000")
    with page.expect_navigation():
        page.locator("[data-testid=contact-form] button.btn-primary").click()
    assert Contact.objects.get(customer=customer).phones[0]["number"] == "+8613800138000"

    # search by pinyin initials: the results update in place, and the URL follows
    page.goto(f"{live_server.url}/customers/")
    page.fill("input[name=q]", "hwjs")
    expect(page).to_have_url(re.compile(r"/customers/\?q=hwjs(&|$)"))
    rows = page.get_by_test_id("customer-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("华为技术有限公司")
    expect(rows.first).to_contain_text("南山区")

    # open it and see the contact (the owner sees the number in full)
    with page.expect_navigation():
        rows.first.get_by_role("link", name="华为技术有限公司").click()
    contact = page.get_by_test_id("contact")
    expect(contact).to_contain_text("李四")
    expect(contact.get_by_test_id("contact-phone")).to_have_text("+8613800138000")
    expect(page.get_by_test_id("customer-history")).to_be_visible()

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "customers.png"), full_page=True)
    page.goto(f"{live_server.url}/customers/?q=hwjs")
    page.screenshot(path=str(SCREENSHOTS / "customers-list.png"), full_page=True)
    assert csp_violations(page) == []
    assert page.problems.all() == []
