"""The care calendar: greeting tasks for contacts' birthdays (solar and lunar), anniversaries of
the first contact and Chinese festivals, made ``care_lead_days`` before they are due and due on
the last working day on or before the occasion; the calendar page's data."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.engagement import services
from guanxi.engagement.models import FollowUpTask
from guanxi.engagement.selectors import care_calendar
from tests.conftest import Org
from tests.engagement.conftest import at, log, make_contact, make_customer, tasks_of

pytestmark = pytest.mark.django_db

D = dt.date


def care_tasks(customer) -> list[FollowUpTask]:
    return tasks_of(customer, source="care")


def test_a_birthday_on_a_holiday_is_greeted_on_the_last_working_day_before(org: Org):
    # given a closed-deal customer (its policy greets birthdays) and a contact born on 3 May,
    # which in 2026 is in the Labour Day holiday (1 to 5 May)
    customer = make_customer(org.rep, "腾讯科技有限公司", lifecycle="closed")
    zhang = make_contact(customer, "张三", birthday=D(1985, 5, 3))
    # when the engine runs: too early on the 20th of April (due the 30th, three days' lead)
    services.followups_generate(today=D(2026, 4, 20))
    assert care_tasks(customer) == []
    services.followups_generate(today=D(2026, 4, 27))
    # then the task is due on Thursday the 30th, before the holiday; done by the 3rd is on time
    (task,) = care_tasks(customer)
    assert task.contact == zhang and task.kind == "greeting"
    assert task.due_date == D(2026, 4, 30) and task.deadline == D(2026, 5, 3)
    assert task.occasion_key == f"birthday:{zhang.pk}:2026-05-03"
    assert task.display_title == "Birthday greeting: 张三"
    # and a rerun makes nothing twice
    assert services.followups_generate(today=D(2026, 4, 28)).care == 0
    assert len(care_tasks(customer)) == 1


def test_a_greeting_call_completes_the_birthday_task(org: Org):
    customer = make_customer(org.rep, "腾讯科技有限公司", lifecycle="closed")
    make_contact(customer, "张三", birthday=D(1985, 5, 3))
    services.followups_generate(today=D(2026, 4, 27))
    log(customer, channel="wechat", when=at(D(2026, 4, 30)), content="生日祝福")
    (task,) = care_tasks(customer)
    assert task.status == FollowUpTask.Status.DONE


def test_a_lunar_birthday_falls_on_its_lunar_date_each_year(org: Org):
    # 1990-10-03 was the 15th of the 8th lunar month: the Mid-Autumn Festival, which in 2026 is
    # 25 September (a holiday): due Thursday the 24th
    customer = make_customer(org.rep, "腾讯科技有限公司", lifecycle="strategic")
    lunar = make_contact(customer, "王五", birthday=D(1990, 10, 3), birthday_lunar=True)
    services.followups_generate(today=D(2026, 9, 21))
    birthday = [task for task in care_tasks(customer) if task.contact_id == lunar.pk]
    assert [(task.deadline, task.due_date) for task in birthday] == [
        (D(2026, 9, 25), D(2026, 9, 24))
    ]


def test_29_february_is_greeted_on_28_february_in_a_common_year(org: Org):
    customer = make_customer(org.rep, "腾讯科技有限公司", lifecycle="closed")
    make_contact(customer, "闰年生", birthday=D(1988, 2, 29))
    services.followups_generate(today=D(2027, 2, 25))
    (task,) = care_tasks(customer)
    # 2027 is not in the holiday table: 28 February is a Sunday, due the Friday before
    assert task.deadline == D(2027, 2, 28) and task.due_date == D(2027, 2, 26)


def test_the_spring_festival_greeting_is_due_before_the_holiday(org: Org):
    # The Spring Festival 2026 is 17 February; the holiday runs from the 15th and the 14th is a
    # Saturday worked in exchange: due then, made three days before
    customer = make_customer(org.rep, "战略客户有限公司", lifecycle="strategic")
    services.followups_generate(today=D(2026, 2, 10))
    assert [t.occasion_key for t in care_tasks(customer)] == []
    services.followups_generate(today=D(2026, 2, 11))
    (task,) = care_tasks(customer)
    assert task.occasion_key == "festival:spring_festival:2026"
    assert task.due_date == D(2026, 2, 14) and task.deadline == D(2026, 2, 17)
    assert task.display_title == "Festival greeting: Spring Festival"


def test_festivals_follow_the_settings_and_the_policy(org: Org):
    greeted = make_customer(org.rep, "战略客户有限公司", lifecycle="strategic")
    quiet = make_customer(org.rep, "潜在客户有限公司", lifecycle="potential")
    services.settings_update(actor=org.admin, data={"festivals": ["qixi_festival"]})
    services.followups_generate(today=D(2026, 8, 17))  # 七夕 is 19 August 2026
    assert [t.occasion_key for t in care_tasks(greeted)] == ["festival:qixi_festival:2026"]
    assert care_tasks(quiet) == []  # the potential customers' policy greets at no festival


def test_an_anniversary_of_the_first_contact(org: Org):
    customer = make_customer(
        org.rep, "腾讯科技有限公司", lifecycle="closed", first_contact_date=D(2023, 6, 10)
    )
    services.followups_generate(today=D(2026, 6, 8))
    (task,) = care_tasks(customer)
    # 10 June 2026 is a Wednesday
    assert task.deadline == task.due_date == D(2026, 6, 10)
    assert task.occasion_key == "anniversary:3:2026-06-10"
    assert task.display_title == "Anniversary greeting: 3 years since the first contact"


def test_the_care_calendar_lists_what_the_user_may_see(org: Org):
    mine = make_customer(
        org.rep, "腾讯科技有限公司", lifecycle="closed", first_contact_date=D(2020, 9, 28)
    )
    make_contact(mine, "张三", birthday=D(1985, 9, 27))
    theirs = make_customer(org.other_rep, "别人的客户", lifecycle="closed")
    make_contact(theirs, "李四", birthday=D(1985, 9, 27))
    items = care_calendar(actor=org.rep, start=D(2026, 9, 20), end=D(2026, 10, 5))
    assert [(item.kind, item.date, item.label) for item in items] == [
        ("festival", D(2026, 9, 25), "Mid-Autumn Festival"),
        ("birthday", D(2026, 9, 27), "张三"),
        ("anniversary", D(2026, 9, 28), "腾讯科技有限公司"),
        ("festival", D(2026, 10, 1), "National Day"),
    ]
    # the manager sees both birthdays
    births = [
        i.label
        for i in care_calendar(actor=org.manager, start=D(2026, 9, 27), end=D(2026, 9, 27))
        if i.kind == "birthday"
    ]
    assert sorted(births) == ["张三", "李四"]
