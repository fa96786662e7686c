"""Exports in a real browser: a rep narrows the customer list through the live HTMX filters, opens
the Export menu (a <details> disclosure, no script needed) and downloads the CSV, which holds the
filtered customers only; on a customer's page the contacts card offers vCard. Screenshots go to
test-results/. No CSP violation, no console error."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import csp_violations, login
from tests.customers.conftest import make_contact, make_customer

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.mark.django_db(transaction=True)
def test_rep_exports_the_filtered_list_and_a_customers_vcards(page, live_server, org):
    # given two customers of the rep, one closed, with a contact
    closed = make_customer(org.rep, "华为技术有限公司", lifecycle="closed", actor=org.rep)
    make_customer(org.rep, "腾讯科技有限公司", lifecycle="intent", actor=org.rep)
    make_contact(closed, "李四", phones=["13800138000"])
    login(page, live_server, org.rep.username)
    page.goto(f"{live_server.url}/customers/")
    # when the rep filters the list (HTMX replaces the results) and exports it
    with page.expect_response(lambda response: "lifecycle=closed" in response.url):
        page.select_option("select[name=lifecycle]", "closed")
    expect(page.get_by_test_id("customer-row")).to_have_count(1)
    page.get_by_test_id("export-menu").locator("summary").click()
    expect(page.get_by_test_id("export-customers-csv")).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "export-menu.png"))
    with page.expect_download() as download_info:
        page.get_by_test_id("export-customers-csv").click()
    # then the file holds the filtered list, in Chinese, with a BOM
    data = Path(download_info.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][1] == "名称"
    assert [row[1] for row in rows[1:]] == ["华为技术有限公司"]
    # and on the customer's page the contacts card exports vCards
    page.goto(f"{live_server.url}/customers/{closed.pk}/")
    page.locator("#contacts [data-testid=export-menu] summary").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-contacts-vcard4").click()
    card = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert "VERSION:4.0" in card and "tel:+8613800138000" in card
    expect(page.get_by_test_id("vcard-import-link")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "export-contacts-card.png"))
    assert csp_violations(page) == []
    assert page.problems.all() == []
