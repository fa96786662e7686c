"""Relationship maintenance in a real browser: a rep opens a customer, logs a visit with the
contact present and a next action for today, finds the next action in 今日待办 and marks it done
in place (HTMX); a manager reads the team's follow-up compliance. Screenshots go to
test-results/. No CSP violation, no console error."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from guanxi.engagement import services
from guanxi.engagement.models import FollowUpTask, Interaction
from guanxi.engagement.selectors import compliance_report
from tests.browser.conftest import csp_violations, login
from tests.customers.conftest import make_contact, make_customer

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture
def policies(transactional_db):
    """The live server's flush after each earlier test empties the tables that migrations seed;
    seed the maintenance policies, the follow-up settings and the holiday table again, the way
    the migrations do."""
    import importlib

    from django.apps import apps

    for module in (
        "guanxi.core.migrations.0008_calendar_seed",
        "guanxi.engagement.migrations.0002_default_policies",
    ):
        importlib.import_module(module).seed(apps, None)


def test_rep_logs_a_visit_and_completes_the_next_action_manager_sees_compliance(
    page_factory, live_server, org, policies
):
    org.rep.manager = org.manager
    org.rep.save(update_fields=["manager"])
    customer = make_customer(org.rep, "华东精密机械有限公司", lifecycle="strategic")
    contact = make_contact(customer, "张三", title="采购总监", phones=["13800138000"])
    # two months ago the policy asked for a meeting and a report; the meeting happened on time
    past = timezone.localdate() - dt.timedelta(days=62)
    services.followups_generate(today=past)
    services.interaction_create(
        actor=org.rep,
        customer=customer,
        channel="video",
        content="季度视频会议",
        occurred_at=timezone.make_aware(dt.datetime.combine(past, dt.time(10))),
        now=timezone.make_aware(dt.datetime.combine(past, dt.time(11))),
    )
    services.followups_generate(today=timezone.localdate())  # this month's tasks

    page = page_factory("zh-CN")
    login(page, live_server, org.rep.username)

    # the customer page offers "Log interaction"
    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    expect(page.get_by_test_id("followup-card")).to_be_visible()
    with page.expect_navigation():
        page.get_by_test_id("log-interaction-button").click()

    # a visit, with the contact present and a next action due today
    page.locator("[data-testid=channel-choices] input[value=visit]").check(force=True)
    page.locator(f"input[name=contacts][value='{contact.pk}']").check()
    page.fill("textarea[name=content]", "拜访张总，演示新品 B，客户希望拿到正式报价")
    page.select_option("select[name=reaction]", "positive")
    page.fill("input[name=next_action]", "发送新品 B 正式报价")
    page.fill("input[name=next_action_date]", timezone.localdate().isoformat())
    with page.expect_navigation():
        page.get_by_test_id("interaction-save").click()
    assert page.url == f"{live_server.url}/customers/{customer.pk}/"
    visit = Interaction.objects.get(content__startswith="拜访张总")
    assert visit.channel == "visit" and list(visit.contacts.all()) == [contact]
    expect(page.get_by_test_id("timeline-interaction").first).to_contain_text("拜访张总")
    # the visit was this month's deep conversation
    assert FollowUpTask.objects.filter(
        customer=customer, kind="conversation", completed_interaction=visit
    ).exists()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "engagement-customer.png"), full_page=True)

    # 今日待办: the next action is due today; done in place
    with page.expect_navigation():
        page.locator("#sidebar-menu a.nav-link[href='/engagement/']").click()
    task = FollowUpTask.objects.get(origin=visit)
    row = page.locator(f"#task-{task.pk}")
    expect(row).to_contain_text("发送新品 B 正式报价")
    page.screenshot(path=str(SCREENSHOTS / "engagement-today.png"), full_page=True)
    row.get_by_test_id("task-complete").click()
    expect(page.locator(f"#task-{task.pk}").get_by_test_id("task-done")).to_be_visible()
    assert page.url.endswith("/engagement/")
    task.refresh_from_db()
    assert task.status == FollowUpTask.Status.DONE and task.completed_by == org.rep
    assert csp_violations(page) == []
    assert page.problems.console_errors == [] and page.problems.page_errors == []

    # the manager reads the team's compliance
    manager = page_factory("zh-CN")
    login(manager, live_server, org.manager.username)
    start = past - dt.timedelta(days=31)
    with manager.expect_navigation():
        manager.goto(
            f"{live_server.url}/engagement/compliance/?date_from={start.isoformat()}"
            f"&date_to={timezone.localdate().isoformat()}"
        )
    report = compliance_report(actor=org.manager, date_from=start, date_to=timezone.localdate())
    (rep_row,) = [row for row in report.people if row.user == org.rep]
    assert rep_row.due >= 1 and rep_row.on_time >= 1
    people = manager.get_by_test_id("compliance-person")
    expect(people).to_have_count(1)
    expect(people.first).to_contain_text(org.rep.get_full_name())
    expect(people.first.get_by_test_id("compliance-rate")).to_have_text(
        re.compile(rf"^{rep_row.percent}%$")
    )
    manager.screenshot(path=str(SCREENSHOTS / "engagement-compliance.png"), full_page=True)
    assert csp_violations(manager) == []
    assert manager.problems.console_errors == [] and manager.problems.page_errors == []
