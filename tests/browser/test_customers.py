"""The customer archive in a real browser: a rep files a customer with a contact (tags through Tom
Select), finds it by its pinyin initials through the live HTMX search and opens it; claims a pool
customer whose contact is masked until then, tags customers in bulk; a manager reveals the
contact (logged) and transfers the customer. Screenshots go to test-results/. No CSP violation,
no console error."""

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
    # tags through Tom Select: type, pick from the dropdown
    page.locator("#id_tags-ts-control").fill("高意向")
    page.locator(".ts-dropdown .option", has_text="高意向客户").click()
    with page.expect_navigation():
        page.locator("[data-testid=customer-form] button.btn-primary").click()
    customer = Customer.objects.get(name="华为技术有限公司")
    assert [tag.name for tag in customer.tags.all()] == ["高意向客户"]
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


def test_pool_claim_masking_reveal_transfer_and_bulk_tag(
    page, page_factory, live_server, org, reference_data
):
    from guanxi.core.models import AuditEntry
    from guanxi.customers.models import Tag
    from tests.customers.conftest import make_contact, make_customer

    pool = make_customer(None, "公海科技有限公司")
    make_contact(pool, "王五", phones=["13900139000"])
    others = [make_customer(org.rep, f"华东客户{n}") for n in range(2)]

    # the rep finds the customer in the pool: contact data masked until claimed, no "Show"
    login(page, live_server, org.rep.username)
    page.goto(f"{live_server.url}/customers/")
    with page.expect_navigation():
        page.get_by_test_id("pool-tab").click()
    rows = page.get_by_test_id("customer-row")
    expect(rows).to_have_count(1)
    with page.expect_navigation():
        rows.first.get_by_role("link", name="公海科技有限公司").click()
    expect(page.get_by_test_id("contact-phone")).to_have_text("139****9000")
    expect(page.get_by_test_id("reveal-button")).to_have_count(0)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "pool-customer-masked.png"), full_page=True)

    # claim it: the rep owns it and sees the number in full
    with page.expect_navigation():
        page.get_by_test_id("claim-button").click()
    pool.refresh_from_db()
    assert pool.owner == org.rep
    expect(page.get_by_test_id("contact-phone")).to_have_text("+8613900139000")
    expect(page.get_by_test_id("recycle-at")).to_be_visible()

    # bulk: tick the whole page, add a tag, review, confirm
    page.goto(f"{live_server.url}/customers/?owner={org.rep.pk}")
    expect(page.get_by_test_id("customer-row")).to_have_count(3)
    page.locator("input[data-check-all=ids]").check()
    tag = Tag.objects.get(name="长期合作客户")
    page.select_option("#bulk-form select[name=action]", "tag_add")
    page.select_option("#bulk-form select[name=tag]", str(tag.pk))
    with page.expect_navigation():
        page.locator("#bulk-form button").click()
    expect(page.get_by_test_id("bulk-customers").locator("li")).to_have_count(3)
    with page.expect_navigation():
        page.locator("[data-testid=bulk-confirm] button[name=confirm]").click()
    assert all(tag in c.tags.all() for c in [pool, *others])
    assert csp_violations(page) == [] and page.problems.all() == []

    # the manager sees the contact masked, reveals it (logged), and transfers the customer
    manager = page_factory("zh-CN")
    login(manager, live_server, org.manager.username)
    manager.goto(f"{live_server.url}/customers/{pool.pk}/")
    expect(manager.get_by_test_id("contact-phone")).to_have_text("139****9000")
    manager.get_by_test_id("reveal-button").click()
    expect(manager.get_by_test_id("contact-phone")).to_have_text("+8613900139000")
    assert AuditEntry.objects.filter(action="reveal", actor=org.manager).count() == 1
    with manager.expect_navigation():
        manager.get_by_test_id("transfer-button").click()
    manager.select_option("select[name=to_user]", str(org.other_rep.pk))
    manager.fill("textarea[name=reason]", "区域调整")
    with manager.expect_navigation():
        manager.locator("[data-testid=transfer-form] button.btn-primary").click()
    pool.refresh_from_db()
    assert pool.owner == org.other_rep
    expect(manager.get_by_test_id("customer-history")).to_contain_text("区域调整")
    manager.screenshot(path=str(SCREENSHOTS / "customer-transferred.png"), full_page=True)
    assert csp_violations(manager) == [] and manager.problems.all() == []
