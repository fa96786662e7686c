"""The follow-up pages: 今日待办 and its counts, logging from a task, the over-contact warning in
the form, the customer page's card and timeline, compliance in each scope, the calendar feed, and
the list pages' query counts pinned."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from guanxi.customers import services as customer_services
from guanxi.engagement import services
from guanxi.engagement.models import FollowUpTask, Interaction
from tests.conftest import Org, login_client
from tests.engagement.conftest import at, db_state, log, make_contact, make_customer

pytestmark = pytest.mark.django_db

TODAY = "/engagement/"


def _text(response) -> str:
    return response.content.decode()


def _task(customer, *, due: dt.date, title: str = "寄送报价", actor=None) -> FollowUpTask:
    interaction = log(
        customer,
        actor=actor,
        channel="phone",
        when=timezone.now() - dt.timedelta(days=30),
        next_action=title,
        next_action_date=due,
        now=timezone.now(),
        allow_over_contact=True,  # the default customers are potential ones: a touch a month
    )
    return FollowUpTask.objects.get(origin=interaction)


def test_today_lists_the_reps_overdue_and_due_tasks_and_not_anyone_elses(org: Org):
    today = timezone.localdate()
    mine = make_customer(org.rep, "华为技术有限公司")
    theirs = make_customer(org.other_rep, "别人的客户")
    overdue = _task(mine, due=today - dt.timedelta(days=2), title="逾期的报价")
    due = _task(mine, due=today, title="今天的回访")
    _task(mine, due=today + dt.timedelta(days=3), title="下周的演示")
    _task(theirs, due=today, title="别人的任务")
    body = _text(login_client(org.rep, language="en").get(TODAY))
    rows = re.findall(r'data-testid="task-title">([^<]+)<', body)
    assert rows == [overdue.title, due.title]
    assert 'data-testid="count-overdue">1<' in body
    assert 'data-testid="count-today">1<' in body
    assert 'data-testid="count-upcoming">1<' in body
    upcoming = _text(login_client(org.rep).get(TODAY + "?view=upcoming"))
    assert "下周的演示" in upcoming and "逾期的报价" not in upcoming


def test_a_manager_sees_the_teams_tasks_on_asking(org: Org):
    today = timezone.localdate()
    _task(make_customer(org.rep, "华为技术有限公司"), due=today, title="代表的任务")
    _task(make_customer(org.outsider, "海外客户"), due=today, title="海外的任务")
    client = login_client(org.manager)
    assert "代表的任务" not in _text(client.get(TODAY))  # their own by default
    team = _text(client.get(TODAY + "?assignee=all"))
    assert "代表的任务" in team and "海外的任务" not in team  # outside the subtree
    assert "代表的任务" in _text(client.get(TODAY + f"?assignee={org.rep.pk}"))


def test_done_from_the_list_swaps_the_row_in_place(org: Org):
    task = _task(make_customer(org.rep, "华为技术有限公司"), due=timezone.localdate())
    response = login_client(org.rep).post(
        f"/engagement/tasks/{task.pk}/complete/", {}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'data-testid="task-done"' in _text(response)
    assert "<html" not in _text(response)
    task.refresh_from_db()
    assert task.status == FollowUpTask.Status.DONE


def test_logging_from_a_task_completes_it_and_returns_to_the_customer(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="closed")
    contact = make_contact(customer, "张三")
    task = _task(customer, due=timezone.localdate())
    client = login_client(org.rep, language="en")
    form = client.get(f"/engagement/customers/{customer.pk}/log/?task={task.pk}")
    assert "Completes the follow-up" in _text(form)
    response = client.post(
        f"/engagement/customers/{customer.pk}/log/",
        {
            "task": task.pk,
            "channel": "visit",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "content": "演示新品，客户满意",
            "contacts": [contact.pk],
            "reaction": "positive",
            "next_action": "发送合同草稿",
            "next_action_date": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
            "attachments": [SimpleUploadedFile("纪要.txt", "会议纪要".encode())],
        },
    )
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    task.refresh_from_db()
    assert task.status == FollowUpTask.Status.DONE
    interaction = Interaction.objects.latest("pk")
    assert interaction.kind == "conversation" and interaction.attachments.count() == 1
    assert FollowUpTask.objects.get(origin=interaction).title == "发送合同草稿"
    # the customer page shows the visit on the timeline and the new task on the card
    page = _text(client.get(f"/customers/{customer.pk}/"))
    timeline = page[page.index('id="timeline"') :]
    assert "演示新品，客户满意" in timeline and "Follow-up done" in timeline
    card = page[page.index('data-testid="followup-card"') : page.index('id="timeline"')]
    assert "发送合同草稿" in card
    assert 'data-testid="log-interaction-button"' in page


def test_the_form_warns_of_over_contact_and_logs_once_confirmed(org: Org):
    customer = make_customer(org.rep, "潜在客户有限公司", lifecycle="potential")
    log(customer, when=timezone.now() - dt.timedelta(minutes=30), now=timezone.now())
    client = login_client(org.rep, language="en")
    data = {
        "channel": "wechat",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "content": "发送行业资讯",
    }
    before = db_state()
    warned = client.post(f"/engagement/customers/{customer.pk}/log/", data)
    assert warned.status_code == 409
    assert 'data-testid="over-contact-warning"' in _text(warned)
    assert db_state() == before
    confirmed = client.post(
        f"/engagement/customers/{customer.pk}/log/", {**data, "allow_over_contact": "on"}
    )
    assert confirmed.status_code == 302
    assert Interaction.objects.filter(customer=customer).count() == 2


def test_an_attachment_of_a_forbidden_type_is_refused_and_nothing_is_written(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    response = login_client(org.rep, language="en").post(
        f"/engagement/customers/{customer.pk}/log/",
        {
            "channel": "phone",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "content": "电话",
            "attachments": [SimpleUploadedFile("报价.pdf", b"<html><script>alert(1)</script>")],
        },
    )
    assert response.status_code == 400
    assert "is not a file type we keep" in _text(response)
    assert db_state() == before


def test_an_attachment_downloads_as_an_attachment(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    interaction = log(
        customer,
        when=timezone.now() - dt.timedelta(minutes=5),
        now=timezone.now(),
        attachments=[SimpleUploadedFile("方案.pdf", b"%PDF-1.4\n%%EOF\n")],
    )
    attachment = interaction.attachments.get()
    response = login_client(org.rep).get(f"/engagement/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"%PDF-1.4\n%%EOF\n"


def test_the_plan_edited_on_the_customer_page_shows_on_its_card(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="closed")
    client = login_client(org.rep, language="en")
    response = client.post(
        f"/engagement/customers/{customer.pk}/plan/",
        {
            "channels": ["wechat", "email"],
            "frequency": "month",
            "max_per_month": 3,
            "themes": "新品",
        },
    )
    assert response.status_code == 302
    card = _text(client.get(f"/customers/{customer.pk}/"))
    card = card[card.index('data-testid="communication-plan"') :]
    assert "WeChat, E-mail" in card and "新品" in card
    # the analyst (scope all) reads the card but gets no edit link
    analyst = _text(login_client(org.analyst).get(f"/customers/{customer.pk}/"))
    assert 'data-testid="communication-plan"' in analyst
    assert 'data-testid="plan-edit-link"' not in analyst
    assert 'data-testid="log-interaction-button"' not in analyst


def test_the_timeline_interleaves_changes_and_interactions_newest_first(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    old = log(customer, when=timezone.now() - dt.timedelta(days=400), content="很久以前的拜访")
    new = log(
        customer,
        when=timezone.now() + dt.timedelta(minutes=1),
        content="刚才的电话",
        allow_over_contact=True,
    )
    body = _text(login_client(org.rep).get(f"/customers/{customer.pk}/"))
    timeline = body[body.index('data-testid="customer-history"') :]
    # the new call, then the customer's creation (now), then the visit of a year ago
    assert timeline.index(new.content) < timeline.index('data-testid="history-entry"')
    assert timeline.index('data-testid="history-entry"') < timeline.index(old.content)


def test_compliance_per_scope(org: Org):
    # a task of the rep done on time, one of the other rep missed, one of the outsider done late
    today = timezone.localdate()
    for owner, name in ((org.rep, "甲"), (org.other_rep, "乙"), (org.outsider, "丙")):
        make_customer(owner, name, lifecycle="strategic")
    start = today - dt.timedelta(days=70)
    services.followups_generate(today=start)
    rows = FollowUpTask.objects.filter(source="policy", kind="conversation")
    for task in rows:
        if task.assignee == org.rep:
            FollowUpTask.objects.filter(pk=task.pk).update(
                status="done", completed_at=at(task.deadline), completed_on=task.deadline
            )
        elif task.assignee == org.outsider:
            late = task.deadline + dt.timedelta(days=2)
            FollowUpTask.objects.filter(pk=task.pk).update(
                status="done", completed_at=at(late), completed_on=late
            )
    period = f"?date_from={(start - dt.timedelta(days=1)).isoformat()}&date_to={today.isoformat()}"
    rep_page = _text(login_client(org.rep).get("/engagement/compliance/" + period))
    assert re.findall(r'data-testid="compliance-rate">([^<]+)<', rep_page) == ["50%"]
    manager = _text(login_client(org.manager).get("/engagement/compliance/" + period))
    assert sorted(re.findall(r'data-testid="compliance-rate">([^<]+)<', manager)) == ["0%", "50%"]
    admin = _text(login_client(org.admin).get("/engagement/compliance/" + period))
    assert len(re.findall(r'data-testid="compliance-person"', admin)) == 3


# --- the calendar feed --------------------------------------------------------------------------


def test_the_feed_shows_open_tasks_masks_numbers_and_dies_with_rotation(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    task = _task(
        customer, due=timezone.localdate(), title="打 13800138000 找李四，抄送 lisi@example.com"
    )
    client = login_client(org.rep, language="en")
    rotated = client.post("/engagement/feed/rotate/")
    url = re.search(r'data-testid="feed-url">([^<]+)<', _text(rotated)).group(1)
    path = url.split("testserver", 1)[1]
    feed = Client().get(path)  # calendar apps do not sign in
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(event["uid"]) for event in events] == [f"guanxi-followup-{task.pk}"]
    assert events[0].decoded("dtstart") == timezone.localdate()
    text = feed.content.decode()
    assert "13800138000" not in text and "lisi@example.com" not in text
    assert "****8000" in text and "华为技术有限公司" in text
    # a new link: the old one stops working
    client.post("/engagement/feed/rotate/")
    assert Client().get(path).status_code == 404
    # and a deactivated user's feed is gone too
    second = re.search(
        r'data-testid="feed-url">([^<]+)<', _text(client.post("/engagement/feed/rotate/"))
    )
    org.rep.is_active = False
    org.rep.save(update_fields=["is_active"])
    assert Client().get(second.group(1).split("testserver", 1)[1]).status_code == 404


def test_the_feed_leaves_out_tasks_of_customers_no_longer_visible(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    _task(customer, due=timezone.localdate())
    raw = services.calendar_feed_rotate(actor=org.rep)
    customer_services.customer_transfer(
        actor=org.manager, customer=customer, to_user=org.other_rep, reason="调整"
    )
    body = Client().get(f"/engagement/feed/{raw}.ics").content.decode()
    assert "BEGIN:VEVENT" not in body


# --- query counts -------------------------------------------------------------------------------

# Pinned: session, user, role setting, the scope's department (manager), the page of tasks with
# their customers, assignees, contacts and rules joined, the three counts in one query, the
# assignee choices. A query per row shows up here.
TODAY_QUERIES = 7


def test_the_task_list_query_count_does_not_grow_with_the_rows(org: Org, django_assert_num_queries):
    customers = [make_customer(org.rep, f"客户{i}") for i in range(3)]
    client = login_client(org.manager)
    client.get(TODAY + "?assignee=all")

    def add(count: int) -> None:
        for index in range(count):
            _task(customers[index % 3], due=timezone.localdate(), title=f"任务{index}")

    add(3)
    with django_assert_num_queries(TODAY_QUERIES):
        assert client.get(TODAY + "?assignee=all").status_code == 200
    add(12)
    with django_assert_num_queries(TODAY_QUERIES):
        response = client.get(TODAY + "?assignee=all")
    assert _text(response).count('data-testid="task-row"') == 15


# Pinned: session, user, role setting, department, the page of interactions with customers and
# authors joined, then one query each for contacts, participants, attachments and next tasks.
INTERACTIONS_QUERIES = 9


def test_the_interaction_list_query_count_does_not_grow_with_the_rows(
    org: Org, django_assert_num_queries
):
    customers = [make_customer(org.rep, f"客户{i}") for i in range(3)]
    contacts = [make_contact(customer, f"联系人{i}") for i, customer in enumerate(customers)]
    client = login_client(org.manager)
    client.get("/engagement/interactions/")

    def add(count: int, start: int) -> None:
        for index in range(start, start + count):
            log(
                customers[index % 3],
                when=timezone.now() - dt.timedelta(days=index + 1),
                now=timezone.now(),
                contacts=[contacts[index % 3].pk],
                participants=[org.rep.pk],
                allow_over_contact=True,
            )

    add(3, 0)
    with django_assert_num_queries(INTERACTIONS_QUERIES):
        assert client.get("/engagement/interactions/").status_code == 200
    add(12, 3)
    with django_assert_num_queries(INTERACTIONS_QUERIES):
        response = client.get("/engagement/interactions/")
    assert _text(response).count('data-testid="interaction-row"') == 15


# Pinned: session, user, role setting (an administrator's scope is everything: no department),
# the grouped counts, and the people and their departments named in two queries.
COMPLIANCE_QUERIES = 6


def test_the_compliance_page_query_count_does_not_grow_with_the_people(
    org: Org, django_assert_num_queries
):
    start = timezone.localdate() - dt.timedelta(days=40)
    client = login_client(org.admin)
    period = f"?date_from={(start - dt.timedelta(days=1)).isoformat()}"
    make_customer(org.rep, "甲", lifecycle="strategic")
    services.followups_generate(today=start)
    with django_assert_num_queries(COMPLIANCE_QUERIES):
        assert client.get("/engagement/compliance/" + period).status_code == 200
    for owner in (org.other_rep, org.manager, org.outsider, org.kam):
        make_customer(owner, f"{owner.username}的客户", lifecycle="strategic")
    services.followups_generate(today=start)
    with django_assert_num_queries(COMPLIANCE_QUERIES):
        response = client.get("/engagement/compliance/" + period)
    assert _text(response).count('data-testid="compliance-person"') == 5
