"""The service desk in a real browser: an agent takes a complaint by phone and opens a ticket,
which routes to the technical team; the engineer resolves it; the customer's contact opens the
link without signing in, says it is solved but scores it 1; the ticket is back in progress and
the follow-up feedback item shows on it with its 24-hour deadline. Screenshots go to
test-results/. No CSP violation, no console error."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import formats, timezone
from playwright.sync_api import expect

from guanxi.accounts.models import Department
from guanxi.accounts.roles import Role
from guanxi.feedback.models import FeedbackItem
from guanxi.service.models import RoutingRule, ServiceTeam, Ticket, TicketCategory, TicketStatus
from tests.browser.conftest import csp_violations, login
from tests.customers.conftest import make_contact, make_customer
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def seeded(transactional_db):
    """The live server's flush after each earlier test empties the tables that migrations seed:
    the holiday table, ticket categories and SLA policies go back the way the migrations put
    them."""
    for module in (
        "guanxi.core.migrations.0008_calendar_seed",
        "guanxi.service.migrations.0002_default_categories_and_policies",
    ):
        importlib.import_module(module).seed(apps, None)


def test_agent_opens_a_ticket_engineer_resolves_customer_scores_low_follow_up_appears(
    page_factory, live_server, org, seeded
):
    tech = Department.objects.create(name="技术部", code="tech", parent=org.hq)
    engineer = UserFactory(
        username="engineer", full_name="吴工", role=Role.DEPARTMENT_HANDLER, department=tech
    )
    team = ServiceTeam.objects.create(department=tech, assignment_mode="least_loaded")
    team.members.set([engineer])
    RoutingRule.objects.create(
        category=TicketCategory.objects.get(code="product_quality"), team=team
    )
    customer = make_customer(org.rep, "深圳市华南精密机械有限公司")
    make_contact(customer, "林晓峰", title="设备主管", phones=["13800138000"])

    # the agent finds the caller's company by the contact's name and opens a ticket
    agent = page_factory("zh-CN")
    login(agent, live_server, org.agent.username)
    agent.goto(f"{live_server.url}/service/")
    with agent.expect_navigation():
        agent.get_by_test_id("ticket-new").click()
    agent.get_by_test_id("ticket-customer-search").fill("林晓峰")
    with agent.expect_navigation():
        agent.get_by_test_id("ticket-customer-find").click()
    with agent.expect_navigation():
        agent.get_by_test_id("ticket-customer-choice").first.click()
    agent.select_option("select[name=category]", label="产品质量")
    agent.select_option("select[name=priority]", "high")
    agent.select_option("select[name=contact]", label="林晓峰 · 设备主管")
    agent.fill("input[name=subject]", "主轴运行异响")
    agent.fill("textarea[name=description]", "客户来电：新装设备主轴运行时异响，影响加工精度。")
    with agent.expect_navigation():
        agent.get_by_test_id("ticket-save").click()
    ticket = Ticket.objects.get()
    assert agent.url == f"{live_server.url}/service/tickets/{ticket.pk}/"
    # routed to the technical team's engineer, with its deadlines
    expect(agent.get_by_test_id("ticket-team")).to_have_text("技术部")
    expect(agent.get_by_test_id("ticket-assignee")).to_have_text("吴工")
    assert ticket.assignee == engineer and ticket.resolution_due_at is not None
    SCREENSHOTS.mkdir(exist_ok=True)
    agent.screenshot(path=str(SCREENSHOTS / "service-ticket-new.png"), full_page=True)
    assert csp_violations(agent) == []
    assert agent.problems.console_errors == [] and agent.problems.page_errors == []

    # the engineer finds it in their queue, starts and resolves it
    handler = page_factory("zh-CN")
    login(handler, live_server, engineer.username)
    handler.goto(f"{live_server.url}/service/?view=mine")
    with handler.expect_navigation():
        handler.get_by_role("link", name=ticket.number).click()
    with handler.expect_navigation():
        handler.get_by_test_id("ticket-start-button").click()
    handler.fill("[data-testid=resolve-form] textarea[name=resolution]", "上门更换主轴轴承并校准。")
    with handler.expect_navigation():
        handler.get_by_test_id("ticket-resolve-button").click()
    expect(handler.get_by_test_id("ticket-status").first).to_have_text("已解决")
    link = handler.get_by_test_id("confirmation-link").inner_text().strip()
    assert "/service/confirm/" in link
    handler.screenshot(path=str(SCREENSHOTS / "service-ticket-resolved.png"), full_page=True)

    # the customer's contact opens the link, without an account
    customer_page = page_factory("zh-CN")
    customer_page.goto(link)
    expect(customer_page.get_by_test_id("confirm-resolution")).to_contain_text("更换主轴轴承")
    customer_page.locator("input[name=solved][value=yes]").check()
    customer_page.locator("[data-testid=confirm-scores] input[value='1']").check(force=True)
    customer_page.fill("textarea[name=comment]", "处理太慢，停产了两天。")
    customer_page.get_by_test_id("confirm-submit").click()
    expect(customer_page.get_by_test_id("confirm-message")).to_be_visible()
    customer_page.screenshot(path=str(SCREENSHOTS / "service-confirm.png"), full_page=True)
    assert csp_violations(customer_page) == []

    # the ticket is back in progress and the follow-up must be answered within 24 hours
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.satisfaction == 1
    item = FeedbackItem.objects.get(ticket=ticket)
    assert item.respond_by - item.created_at == dt.timedelta(hours=24)
    handler.goto(f"{live_server.url}/service/tickets/{ticket.pk}/")
    feedback = handler.get_by_test_id("ticket-feedback-item")
    expect(feedback).to_have_count(1)
    deadline = formats.date_format(timezone.localtime(item.respond_by), "SHORT_DATETIME_FORMAT")
    expect(feedback).to_contain_text(deadline)
    expect(handler.get_by_test_id("ticket-satisfaction")).to_contain_text("1/5")
    handler.screenshot(path=str(SCREENSHOTS / "service-follow-up.png"), full_page=True)
    assert csp_violations(handler) == []
    assert handler.problems.console_errors == [] and handler.problems.page_errors == []
