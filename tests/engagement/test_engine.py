"""The follow-up engine with a frozen clock (``today=`` / ``now=`` passed to the services): the
seeded policies, idempotent generation backed by the database, due dates on China's working days
across weeks, month ends and holidays, completion by a matching interaction, next actions,
communication plans, the over-contact guard, stale tasks, escalation and the morning digest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.engagement import services
from guanxi.engagement.models import (
    EngagementSettings,
    FollowUpTask,
    Interaction,
    MaintenancePolicy,
)
from guanxi.notifications.models import Notification
from tests.conftest import Org
from tests.engagement.conftest import at, db_state, log, make_contact, make_customer, tasks_of

pytestmark = pytest.mark.django_db

D = dt.date
OPEN = FollowUpTask.Status.OPEN
DONE = FollowUpTask.Status.DONE
CANCELLED = FollowUpTask.Status.CANCELLED


def strategic(org: Org, name: str = "华为技术有限公司", **fields):
    return make_customer(org.rep, name, lifecycle="strategic", **fields)


def closed(org: Org, name: str = "腾讯科技有限公司", **fields):
    return make_customer(org.rep, name, lifecycle="closed", **fields)


def potential(org: Org, name: str = "潜在客户有限公司", **fields):
    return make_customer(org.rep, name, lifecycle="potential", **fields)


# --- the seeded policies --------------------------------------------------------------------------


def test_the_defaults_of_c3_are_seeded():
    rules = {
        policy.lifecycle: sorted(
            (rule.kind, rule.interval, rule.unit, tuple(rule.channels), rule.max_count)
            for rule in policy.rules.all()
        )
        for policy in MaintenancePolicy.objects.all()
    }
    assert rules == {
        "strategic": [
            ("conversation", 1, "month", ("visit", "video"), None),
            ("report", 3, "month", (), None),
        ],
        "closed": [
            ("greeting", 2, "week", ("phone", "wechat", "visit", "video"), None),
            ("tip", 1, "month", (), None),
        ],
        "potential": [("touch", 1, "month", (), 1)],
    }
    settings = EngagementSettings.objects.get()
    assert settings.escalate_after_days == 3 and settings.care_lead_days == 3
    assert "spring_festival" in settings.festivals and "mid_autumn_festival" in settings.festivals


# --- generation ---------------------------------------------------------------------------------


def test_generation_makes_one_task_per_rule_and_period_and_is_idempotent(org: Org):
    # given a strategic customer of the rep
    customer = strategic(org)
    # when the engine runs twice on the same day
    first = services.followups_generate(today=D(2026, 3, 10))
    state = db_state()
    second = services.followups_generate(today=D(2026, 3, 10))
    # then the first run made a monthly conversation task and a quarterly report task, the
    # second nothing at all
    assert first.policy == 2 and second.created == 0
    assert db_state() == state
    by_kind = {task.kind: task for task in tasks_of(customer)}
    conversation, report = by_kind["conversation"], by_kind["report"]
    assert (conversation.period_start, conversation.period_end) == (D(2026, 3, 1), D(2026, 3, 31))
    assert conversation.due_date == D(2026, 3, 31) and conversation.deadline == D(2026, 3, 31)
    assert conversation.assignee == org.rep and conversation.channels == ["visit", "video"]
    assert (report.period_start, report.period_end) == (D(2026, 1, 1), D(2026, 3, 31))


def test_the_database_refuses_a_second_task_for_the_same_rule_and_period(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    task = tasks_of(customer, kind="conversation")[0]
    # an insert that bypasses the engine's own check (a second scheduler, say) is refused
    duplicate = FollowUpTask(
        customer=customer,
        assignee=org.rep,
        source="policy",
        kind="conversation",
        rule=task.rule,
        period_start=task.period_start,
        period_end=task.period_end,
        due_date=task.due_date,
        deadline=task.deadline,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUpTask.objects.bulk_create([duplicate])
    # and with ignore_conflicts, as the engine inserts, it is skipped
    FollowUpTask.objects.bulk_create([duplicate], ignore_conflicts=True)
    assert len(tasks_of(customer, kind="conversation")) == 1


def test_a_new_month_makes_a_new_task_and_keeps_the_old_one_open(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 1, 31))
    services.followups_generate(today=D(2026, 2, 1))
    conversations = tasks_of(customer, kind="conversation")
    assert [(t.period_start, t.status) for t in conversations] == [
        (D(2026, 1, 1), OPEN),
        (D(2026, 2, 1), OPEN),
    ]
    # the quarter has not changed: still one report task
    assert len(tasks_of(customer, kind="report")) == 1


@pytest.mark.parametrize(
    ("today", "due", "why"),
    [
        (D(2026, 5, 10), D(2026, 5, 29), "May ends on a Sunday: due the Friday before"),
        (D(2026, 2, 10), D(2026, 2, 28), "28 February 2026 is a Saturday worked for the holiday"),
        (D(2026, 9, 3), D(2026, 9, 30), "September ends on a Wednesday, a working day"),
        (D(2027, 1, 5), D(2027, 1, 29), "2027 is not in the holiday table: weekends only"),
    ],
)
def test_a_period_is_due_on_its_last_working_day(org: Org, today, due, why):
    customer = strategic(org)
    services.followups_generate(today=today)
    (task,) = tasks_of(customer, kind="conversation")
    assert task.due_date == due, why
    assert task.deadline == task.period_end  # compliance still counts to the period's end


def test_closed_deal_customers_get_a_greeting_every_two_weeks(org: Org):
    customer = closed(org)
    services.followups_generate(today=D(2026, 9, 22))
    (greeting,) = tasks_of(customer, kind="greeting", source="policy")
    # two-week periods from Monday 2024-01-01: 21 September to 4 October 2026, which ends in the
    # National Day holiday (1 to 7 October): due on the last working day before it
    assert (greeting.period_start, greeting.period_end) == (D(2026, 9, 21), D(2026, 10, 4))
    assert greeting.due_date == D(2026, 9, 30)
    (tip,) = tasks_of(customer, kind="tip")
    assert tip.period_end == D(2026, 9, 30)
    # and the Mid-Autumn Festival (25 September, a holiday) is greeted the day before
    (festival,) = tasks_of(customer, source="care")
    assert festival.occasion_key == "festival:mid_autumn_festival:2026"
    assert festival.due_date == D(2026, 9, 24) and festival.deadline == D(2026, 9, 25)


def test_customers_outside_every_policy_get_no_tasks(org: Org):
    make_customer(org.rep, "意向客户有限公司", lifecycle="intent")
    make_customer(None, "公海客户有限公司", lifecycle="strategic")
    assert services.followups_generate(today=D(2026, 3, 10)).created == 0


def test_a_contact_earlier_in_the_period_makes_the_task_done_on_time(org: Org):
    # given a visit on the 2nd, before the engine ran on the 3rd
    customer = strategic(org)
    visit = log(customer, channel="visit", when=at(D(2026, 3, 2)))
    services.followups_generate(today=D(2026, 3, 3))
    (task,) = tasks_of(customer, kind="conversation")
    assert task.status == DONE and task.completed_interaction == visit
    assert task.completed_on == D(2026, 3, 2)
    # the report still waits
    assert tasks_of(customer, kind="report")[0].status == OPEN


# --- completion by interaction ------------------------------------------------------------------


def test_a_matching_interaction_completes_the_task(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    # a phone call is a greeting, not a deep conversation: nothing completes
    log(customer, channel="phone", when=at(D(2026, 3, 11)))
    assert tasks_of(customer, kind="conversation")[0].status == OPEN
    # a call marked as a deep conversation is still not through an allowed channel
    log(customer, channel="phone", kind="conversation", when=at(D(2026, 3, 12)))
    assert tasks_of(customer, kind="conversation")[0].status == OPEN
    # a video call is
    video = log(customer, channel="video", when=at(D(2026, 3, 13)), content="季度回顾视频会")
    task = tasks_of(customer, kind="conversation")[0]
    assert task.status == DONE and task.completed_interaction == video
    assert task.completed_by == org.rep and task.completed_on == D(2026, 3, 13)
    # an e-mail with the industry report completes the report task
    log(customer, channel="email", kind="report", when=at(D(2026, 3, 14)))
    assert tasks_of(customer, kind="report")[0].status == DONE


def test_an_overdue_task_completes_late_and_the_current_one_on_time(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    services.followups_generate(today=D(2026, 4, 1))
    log(customer, channel="visit", when=at(D(2026, 4, 3)))
    march, april = tasks_of(customer, kind="conversation")
    assert march.status == DONE and march.completed_on > march.deadline  # late
    assert april.status == DONE and april.completed_on <= april.deadline  # on time


def test_yesterdays_visit_logged_today_is_done_yesterday(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    log(customer, channel="visit", when=at(D(2026, 3, 31), 16), now=at(D(2026, 4, 1), 9))
    (task,) = tasks_of(customer, kind="conversation", period_start=D(2026, 3, 1))
    assert task.completed_on == D(2026, 3, 31)  # on time for the March period


def test_an_interaction_before_the_period_does_not_complete_its_task(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 4, 2))
    # logging a March visit late (in April) completes nothing of April
    log(customer, channel="visit", when=at(D(2026, 3, 30)), now=at(D(2026, 4, 2)))
    assert tasks_of(customer, kind="conversation")[0].status == OPEN


def test_a_next_action_becomes_a_task_and_logging_from_it_completes_it(org: Org):
    customer = closed(org)
    visit = log(
        customer,
        channel="visit",
        when=at(D(2026, 3, 2)),
        next_action="下周演示新品 B",
        next_action_date=D(2026, 3, 9),
    )
    (task,) = tasks_of(customer, source="next_action")
    assert task.origin == visit and task.assignee == org.rep
    assert task.due_date == task.deadline == D(2026, 3, 9)
    assert task.display_title == "下周演示新品 B"
    # an unrelated call does not complete it
    log(customer, channel="phone", when=at(D(2026, 3, 5)))
    task.refresh_from_db()
    assert task.status == OPEN
    # logging the demo from the task does
    demo = log(customer, channel="visit", when=at(D(2026, 3, 9)), complete_task=task)
    task.refresh_from_db()
    assert task.status == DONE and task.completed_interaction == demo


def test_a_next_action_needs_its_date_and_a_date_its_action(org: Org):
    customer = closed(org)
    before = db_state()
    with pytest.raises(ValidationError) as error:
        log(customer, when=at(D(2026, 3, 2)), next_action="回访")
    assert "next_action_date" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        log(customer, when=at(D(2026, 3, 2)), next_action_date=D(2026, 3, 3))
    assert "next_action" in error.value.message_dict
    assert db_state() == before


def test_a_task_is_completed_by_hand_snoozed_and_reassigned(org: Org):
    customer = closed(org)
    services.followups_generate(today=D(2026, 3, 10))
    greeting, tip = tasks_of(customer)
    # snooze: a later due date with a reason; the deadline stays
    assert greeting.due_date == D(2026, 3, 20)  # the fortnight of 9 to 22 March
    snoozed = services.followup_snooze(
        actor=org.rep, task=greeting, until=D(2026, 3, 25), reason="客户出差", today=D(2026, 3, 10)
    )
    assert snoozed.due_date == D(2026, 3, 25) and snoozed.deadline == greeting.deadline
    with pytest.raises(ValidationError) as error:
        services.followup_snooze(
            actor=org.rep, task=snoozed, until=D(2026, 3, 9), reason="x", today=D(2026, 3, 10)
        )
    assert "until" in error.value.message_dict
    # reassign: managers only, to someone who can see the customer
    with pytest.raises(services.PermissionDeniedError):
        services.followup_reassign(actor=org.rep, task=tip, to_user=org.other_rep)
    with pytest.raises(ValidationError) as error:
        services.followup_reassign(actor=org.manager, task=tip, to_user=org.outsider)
    assert "assignee" in error.value.message_dict
    moved = services.followup_reassign(actor=org.manager, task=tip, to_user=org.manager)
    assert moved.assignee == org.manager and moved.reassigned_at is not None
    # complete by hand
    done = services.followup_complete(
        actor=org.rep, task=snoozed, note="客户来访时已问候", now=at(D(2026, 3, 11))
    )
    assert done.status == DONE and done.completed_on == D(2026, 3, 11)
    with pytest.raises(services.TaskNotOpenError):
        services.followup_complete(actor=org.rep, task=done)


# --- communication plans ------------------------------------------------------------------------


def test_the_plan_narrows_channels_and_adds_a_stricter_frequency(org: Org):
    customer = closed(org)
    services.communication_plan_save(
        actor=org.rep, customer=customer, data={"channels": ["wechat"], "frequency": "week"}
    )
    services.followups_generate(today=D(2026, 3, 10))
    greeting = tasks_of(customer, kind="greeting")[0]
    assert greeting.channels == ["wechat"]  # the policy's phone, visit and video are not wanted
    (weekly,) = tasks_of(customer, source="plan")
    assert (weekly.period_start, weekly.period_end) == (D(2026, 3, 9), D(2026, 3, 15))
    # a phone call does not do the greeting the customer wants on WeChat
    log(customer, channel="phone", when=at(D(2026, 3, 11)))
    assert tasks_of(customer, kind="greeting")[0].status == OPEN
    log(customer, channel="wechat", when=at(D(2026, 3, 12)))
    assert tasks_of(customer, kind="greeting")[0].status == DONE
    assert tasks_of(customer, source="plan")[0].status == DONE


def test_a_plan_less_strict_than_the_policy_adds_nothing(org: Org):
    customer = closed(org)
    services.communication_plan_save(
        actor=org.rep, customer=customer, data={"channels": ["visit"], "frequency": "month"}
    )
    services.followups_generate(today=D(2026, 3, 10))
    assert tasks_of(customer, source="plan") == []
    # no preferred channel of the rule's: the policy's channels stay (its minimum wins)
    strategic_customer = strategic(org, "战略客户有限公司")
    services.communication_plan_save(
        actor=org.rep, customer=strategic_customer, data={"channels": ["email"]}
    )
    services.followups_generate(today=D(2026, 3, 10))
    conversation = tasks_of(strategic_customer, kind="conversation")[0]
    assert conversation.channels == ["visit", "video"]


# --- over-contact -------------------------------------------------------------------------------


def test_a_second_touch_in_a_month_of_a_potential_customer_needs_a_confirmation(org: Org):
    customer = potential(org)
    log(customer, channel="wechat", when=at(D(2026, 1, 5)))
    # when a second contact in January is logged
    before = db_state()
    with pytest.raises(services.OverContactError) as error:
        log(customer, channel="email", when=at(D(2026, 1, 31), 18))
    # then nothing is written, and the limit says which rule and period
    assert db_state() == before
    assert error.value.status_code == 409 and error.value.code == "over_contact"
    (limit,) = error.value.extra["limits"]
    assert limit["max_count"] == 1 and limit["count"] == 1
    assert (limit["period_start"], limit["period_end"]) == ("2026-01-01", "2026-01-31")
    # confirmed, it is logged and marked so
    confirmed = log(customer, channel="email", when=at(D(2026, 1, 31), 18), allow_over_contact=True)
    assert confirmed.over_contact_confirmed
    # the first of February starts a new period
    assert not log(customer, channel="wechat", when=at(D(2026, 2, 1))).over_contact_confirmed


def test_the_plans_monthly_maximum_caps_any_customer(org: Org):
    customer = closed(org)
    services.communication_plan_save(actor=org.rep, customer=customer, data={"max_per_month": 2})
    log(customer, when=at(D(2026, 3, 2)))
    log(customer, when=at(D(2026, 3, 3)))
    with pytest.raises(services.OverContactError) as error:
        log(customer, when=at(D(2026, 3, 4)))
    assert error.value.extra["limits"][0]["source"] == "plan"


# --- stale tasks and owners ---------------------------------------------------------------------


def test_tasks_that_no_longer_apply_are_cancelled(org: Org):
    customer = strategic(org)
    other = strategic(org, "另一家战略客户")
    promised = log(
        customer,
        channel="phone",
        when=at(D(2026, 3, 2)),
        next_action="寄送报价",
        next_action_date=D(2026, 3, 20),
    )
    services.followups_generate(today=D(2026, 3, 10))
    # the customer becomes a closed deal; the other goes back to the pool
    customer_services.customer_update(
        actor=org.rep, customer=customer, data={"lifecycle": "closed"}
    )
    customer_services.customer_release(actor=org.rep, customer=other, reason="不再跟进")
    result = services.followups_generate(today=D(2026, 3, 11))
    assert result.cancelled == 4
    assert {t.kind for t in tasks_of(customer, status=CANCELLED)} == {"conversation", "report"}
    # it follows the closed-deal policy from now on; the promised next action stays open
    assert {t.kind for t in tasks_of(customer, status=OPEN, source="policy")} == {"greeting", "tip"}
    assert FollowUpTask.objects.get(origin=promised).status == OPEN
    assert tasks_of(other, status=OPEN) == []


def test_open_tasks_follow_the_customer_to_its_new_owner(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    customer_services.customer_transfer(
        actor=org.manager, customer=customer, to_user=org.other_rep, reason="区域调整"
    )
    result = services.followups_generate(today=D(2026, 3, 11))
    assert result.reassigned == 2
    assert {t.assignee for t in tasks_of(customer)} == {org.other_rep}


# --- escalation and notifications ---------------------------------------------------------------


def _escalation_setup(org: Org):
    org.rep.manager = org.manager
    org.rep.save(update_fields=["manager"])
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    return customer


def test_an_overdue_task_goes_to_the_manager_once(org: Org):
    customer = _escalation_setup(org)
    # the conversation is due 31 March; two days overdue is not yet three
    assert services.followups_escalate(today=D(2026, 4, 2), now=at(D(2026, 4, 2))) == 0
    notices = Notification.objects.filter(recipient=org.rep, kind="followup_overdue")
    assert notices.count() == 2  # the conversation and the report, both due 31 March
    assert services.followups_escalate(today=D(2026, 4, 3), now=at(D(2026, 4, 3))) == 2
    task = tasks_of(customer, kind="conversation")[0]
    assert task.escalated_to == org.manager and task.escalated_at is not None
    sent = Notification.objects.filter(recipient=org.manager, kind="followup_escalated")
    assert sent.count() == 2
    assert sent.first().params["customer"] == "华为技术有限公司"
    # a second run escalates nothing and notifies nobody again
    assert services.followups_escalate(today=D(2026, 4, 4), now=at(D(2026, 4, 4))) == 0
    assert Notification.objects.filter(kind="followup_escalated").count() == 2
    assert notices.count() == 2


def test_without_a_manager_the_department_sales_manager_hears(org: Org):
    customer = strategic(org)  # the rep (华东组) has no manager set; 销售部 has a sales manager
    services.followups_generate(today=D(2026, 3, 10))
    services.followups_escalate(today=D(2026, 4, 5), now=at(D(2026, 4, 5)))
    assert tasks_of(customer, kind="conversation")[0].escalated_to == org.manager


def test_the_escalation_delay_is_a_setting(org: Org):
    _escalation_setup(org)
    services.settings_update(actor=org.admin, data={"escalate_after_days": 10})
    assert services.followups_escalate(today=D(2026, 4, 3), now=at(D(2026, 4, 3))) == 0
    assert services.followups_escalate(today=D(2026, 4, 10), now=at(D(2026, 4, 10))) == 2


def test_the_morning_digest_counts_once_a_day(org: Org):
    _escalation_setup(org)
    log(
        strategic(org, "第二家战略客户"),
        when=at(D(2026, 3, 25)),
        next_action="电话确认",
        next_action_date=D(2026, 3, 31),
    )
    assert services.followups_notify_due(today=D(2026, 3, 31)) == 1
    assert services.followups_notify_due(today=D(2026, 3, 31)) == 0
    (digest,) = Notification.objects.filter(recipient=org.rep, kind="followup_due")
    # two tasks of the first customer and the next action are due today; the second customer's
    # policy tasks were made after the run of the 10th, so they do not exist yet
    assert digest.params == {"due_today": 3, "overdue": 0}
    assert services.followups_notify_due(today=D(2026, 4, 1)) == 1


def test_reassigning_notifies_the_new_assignee(org: Org):
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    task = tasks_of(customer)[0]
    services.followup_reassign(actor=org.manager, task=task, to_user=org.manager)
    assert Notification.objects.filter(recipient=org.manager, kind="followup_assigned").count() == 1


# --- interaction details ------------------------------------------------------------------------


def test_an_interaction_records_who_was_there_and_bumps_the_customers_activity(org: Org):
    customer = closed(org)
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=at(D(2026, 1, 1)))
    zhang = make_contact(customer, "张三", phones=["13800138000"])
    other_customer = closed(org, "别家客户")
    stranger = make_contact(other_customer, "李四")
    with pytest.raises(ValidationError) as error:
        log(customer, when=at(D(2026, 3, 2)), contacts=[stranger.pk])
    assert "contacts" in error.value.message_dict
    interaction = log(
        customer,
        channel="visit",
        when=at(D(2026, 3, 2)),
        contacts=[zhang.pk],
        participants=[org.rep.pk, org.manager.pk],
        reaction="positive",
        reaction_note="对新品很感兴趣",
    )
    assert interaction.kind == "conversation"  # from the channel
    assert list(interaction.contacts.all()) == [zhang]
    assert set(interaction.participants.all()) == {org.rep, org.manager}
    customer.refresh_from_db()
    assert customer.last_activity_at == at(D(2026, 3, 2))


def test_an_interaction_cannot_be_logged_for_the_future_nor_without_content(org: Org):
    customer = closed(org)
    before = db_state()
    with pytest.raises(ValidationError) as error:
        log(customer, when=at(D(2026, 3, 3)), now=at(D(2026, 3, 2)))
    assert "occurred_at" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        log(customer, when=at(D(2026, 3, 2)), content="  ")
    assert "content" in error.value.message_dict
    assert db_state() == before


def test_only_who_writes_the_customer_logs_interactions(org: Org):
    customer = closed(org)
    before = db_state()
    for actor in (org.other_rep, org.analyst, org.kam, org.agent):
        with pytest.raises(services.PermissionDeniedError):
            log(customer, actor=actor, when=at(D(2026, 3, 2)))
    assert db_state() == before
    assert log(customer, actor=org.manager, when=at(D(2026, 3, 2))).created_by == org.manager


def test_the_interaction_log_stays_as_logged_when_edited(org: Org):
    customer = closed(org)
    interaction = log(customer, when=at(D(2026, 3, 2)))
    updated = services.interaction_update(
        actor=org.rep,
        interaction=interaction,
        data={"content": "电话沟通，确认交期", "reaction": "neutral"},
        now=at(D(2026, 3, 3)),
    )
    assert updated.content == "电话沟通，确认交期" and updated.version == 2
    with pytest.raises(ValidationError) as error:
        services.interaction_update(actor=org.rep, interaction=updated, data={"next_action": "x"})
    assert "next_action" in error.value.message_dict
    # another rep who cannot see the customer cannot edit; the analyst sees but cannot write
    with pytest.raises(services.PermissionDeniedError):
        services.interaction_update(actor=org.analyst, interaction=updated, data={"content": "x"})
    assert Interaction.objects.get(pk=interaction.pk).content == "电话沟通，确认交期"


# --- notifications only reach people who may see the customer (review fixes) -------------------


def test_a_manager_who_cannot_see_the_customer_is_passed_over_for_one_who_can(org: Org):
    # given the rep's manager field points at a service agent, whose scope is the service
    # department: the escalation names the customer, so it goes to the sales manager instead
    org.rep.manager = org.agent
    org.rep.save(update_fields=["manager"])
    customer = strategic(org)
    services.followups_generate(today=D(2026, 3, 10))
    # when the tasks are long overdue
    services.followups_escalate(today=D(2026, 4, 5), now=at(D(2026, 4, 5)))
    # then
    assert tasks_of(customer, kind="conversation")[0].escalated_to == org.manager
    assert not Notification.objects.filter(recipient=org.agent).exists()
    assert Notification.objects.filter(recipient=org.manager, kind="followup_escalated").exists()


def test_a_next_action_title_is_masked_in_notifications(org: Org):
    customer = closed(org)
    log(
        customer,
        when=at(D(2026, 3, 2)),
        next_action="致电 13800138000 或写信 li.si@example.com 确认报价",
        next_action_date=D(2026, 3, 4),
    )
    services.followups_escalate(today=D(2026, 3, 5), now=at(D(2026, 3, 5)))
    (notice,) = Notification.objects.filter(recipient=org.rep, kind="followup_overdue")
    title = notice.params["title"]
    assert "13800138000" not in title and "li.si@example.com" not in title
    assert "****8000" in title and "确认报价" in title


def test_a_customer_out_of_sight_is_left_out_of_the_digest_and_the_overdue_notices(org: Org):
    # given a next action of the rep, then the customer goes to another rep: the task stays
    # with the first rep (only engine tasks follow the owner), who no longer sees the customer
    customer = closed(org)
    log(customer, when=at(D(2026, 3, 2)), next_action="回访", next_action_date=D(2026, 3, 4))
    customer_services.customer_transfer(
        actor=org.manager, customer=customer, to_user=org.other_rep, reason="区域调整"
    )
    # when the digest and the overdue notices run
    assert services.followups_notify_due(today=D(2026, 3, 5)) == 0
    services.followups_escalate(today=D(2026, 3, 5), now=at(D(2026, 3, 5)))
    # then the first rep hears nothing about a customer they cannot open
    assert not Notification.objects.filter(recipient=org.rep).exists()
