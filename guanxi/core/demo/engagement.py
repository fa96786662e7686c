"""Demo relationship maintenance (C3): six months of calls, visits, WeChat messages and e-mails
with the owned demo customers, in Chinese, with the customers' reactions and next actions; the
follow-up tasks the maintenance policies made over those months (done on time, done late, some
still open and overdue), next-action tasks in the past and the future, a few communication
plans, and today's tasks. The compliance page has figures for every rep and team.

Speed: a few thousand rows, all written with ``bulk_create`` (``make demo`` must stay quick).
The past periods' policy tasks are built with the engine's own pieces (``effective_rules``,
``period_task_new``, the matching rule ``interaction_fulfils``) rather than by running the engine
once per past period; today's tasks come from the engine itself (``followups_generate``).
Deterministic for a seed, relative to today. Demo data is data, not interface text: nothing here
is translated.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from guanxi.core.demo.generator import DemoGenerator
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Contact, Customer
from guanxi.engagement import periods
from guanxi.engagement.models import CommunicationPlan, FollowUpTask, Interaction
from guanxi.engagement.selectors import (
    effective_rules,
    policies_by_class,
    policy_for_customer,
    settings_get,
)
from guanxi.engagement.services import (
    escalation_manager,
    followups_escalate,
    followups_generate,
    followups_notify_due,
    interaction_fulfils,
    period_task_new,
)
from guanxi.engagement.workdays import working_calendar, working_day_on_or_before

MONTHS = 6
# Contacts a month by lifecycle: (fewest, most).
RATE = {"strategic": (2, 4), "closed": (2, 3), "intent": (1, 2), "potential": (0, 1)}
# (channel, kind, weight) by lifecycle.
CHANNELS = {
    "strategic": (
        ("visit", "conversation", 4),
        ("video", "conversation", 3),
        ("email", "report", 2),
        ("phone", "greeting", 2),
        ("wechat", "tip", 1),
    ),
    "closed": (
        ("phone", "greeting", 4),
        ("wechat", "greeting", 3),
        ("wechat", "tip", 3),
        ("email", "tip", 1),
        ("visit", "conversation", 1),
    ),
    "intent": (
        ("phone", "greeting", 3),
        ("visit", "conversation", 2),
        ("wechat", "touch", 2),
        ("email", "touch", 1),
    ),
    "potential": (("wechat", "touch", 3), ("email", "touch", 2), ("phone", "touch", 1)),
}
TOPICS = (
    "年度采购计划",
    "新产线设备选型",
    "售后服务响应",
    "系统对接方案",
    "下季度交付安排",
    "价格与付款方式",
    "驻场运维需求",
    "新品 B 的试用情况",
)
CONTENTS = {
    "conversation": (
        "到客户现场拜访，与{contact}就{topic}深入交流，客户希望我们下月给出初步方案。",
        "与{contact}视频会议，回顾本季度合作情况，讨论{topic}，对方提出两点改进意见。",
        "陪同技术部到客户现场，与{contact}确认{topic}的技术细节，会后整理纪要发给客户。",
    ),
    "report": (
        "向{contact}发送本季度行业动态报告，并附上针对{topic}的定制化服务建议。",
        "整理客户近半年的使用数据，出具服务报告，重点说明{topic}的改进。",
    ),
    "greeting": (
        "电话问候{contact}，了解{topic}的进展，客户表示目前一切顺利。",
        "微信问候{contact}，顺带确认{topic}，对方回复下周再细谈。",
        "电话回访{contact}，客户对{topic}比较满意，提到价格还有商量余地。",
    ),
    "tip": (
        "给{contact}推送新品 B 的使用技巧和本月优惠活动，对方表示会转给使用部门。",
        "发送产品操作指南更新，提醒{contact}关注{topic}相关的新功能。",
    ),
    "touch": (
        "分享行业资讯：本月政策解读，{contact}已读。",
        "发送公司新品介绍，简单询问{topic}，客户暂无明确需求。",
    ),
}
REACTIONS = (("positive", 5), ("neutral", 4), ("", 2), ("negative", 1))
REACTION_NOTES = {
    "positive": ("对方案很感兴趣", "表示会尽快内部讨论", "希望尽快安排演示"),
    "neutral": ("需要再比较几家供应商", "预算还在审批", ""),
    "negative": ("对交期不满意", "觉得报价偏高", "抱怨上次售后响应慢"),
    "": ("",),
}
NEXT_ACTIONS = (
    "预约下周产品演示",
    "发送正式报价单",
    "安排技术交流会",
    "寄送样品",
    "跟进合同审批进度",
    "邀请参加新品发布会",
    "回访确认交付情况",
)
PLANS = (
    (["wechat", "phone"], "", 6, "新品动态、售后回访", "客户习惯微信沟通，上午联系为宜"),
    (["email"], "", 3, "季度报告、政策解读", "只接受邮件，避免电话打扰"),
    (
        ["phone", "visit", "video"],
        "fortnight",
        None,
        "项目进展、技术交流",
        "重点项目期间每两周沟通一次",
    ),
)


def demo_engagement_load(*, seed: int, today: dt.date | None = None) -> bool:
    """Once: a later run finds interactions and adds none. Returns True if it created any."""
    if Interaction.all_objects.exists():
        return False
    today = today or timezone.localdate()
    random = DemoGenerator.for_stream(seed, "engagement").random
    customers = list(
        Customer.objects.filter(owner__isnull=False)
        .exclude(lifecycle__in=ARCHIVED_LIFECYCLES)
        .select_related("owner")
        .order_by("pk")
    )
    if not customers:
        return False
    contacts: dict[int, list[int]] = defaultdict(list)
    for customer_id, contact_id in Contact.objects.filter(
        customer__in=[customer.pk for customer in customers]
    ).values_list("customer_id", "pk"):
        contacts[customer_id].append(contact_id)
    names = dict(Contact.objects.values_list("pk", "name"))
    zone = ZoneInfo(settings.TIME_ZONE)
    start = periods.add_months(today, -MONTHS)
    interactions: list[Interaction] = []
    present: list[tuple[int, list[int]]] = []  # (index in interactions, contact ids)
    for customer in customers:
        low, high = RATE.get(customer.lifecycle, (0, 1))
        months = MONTHS if random.random() < 0.85 else random.randint(1, MONTHS - 1)
        count = sum(random.randint(low, high) for _month in range(months))
        for _index in range(count):
            day = start + dt.timedelta(days=random.randrange((today - start).days))
            when = dt.datetime.combine(
                day, dt.time(random.randint(9, 17), random.choice((0, 15, 30, 45))), tzinfo=zone
            )
            if when > timezone.now():
                continue
            channel, kind = _weighted(random, CHANNELS[customer.lifecycle])
            chosen = random.sample(contacts[customer.pk], k=min(len(contacts[customer.pk]), 1))
            contact_name = names.get(chosen[0], "客户") if chosen else "客户"
            reaction = _weighted(random, REACTIONS)[0]
            interactions.append(
                Interaction(
                    customer=customer,
                    channel=channel,
                    kind=kind,
                    occurred_at=when,
                    content=random.choice(CONTENTS[kind]).format(
                        contact=contact_name, topic=random.choice(TOPICS)
                    ),
                    reaction=reaction,
                    reaction_note=random.choice(REACTION_NOTES[reaction]),
                    created_at=when,
                    updated_at=when,
                    created_by=customer.owner,
                    updated_by=customer.owner,
                )
            )
            present.append((len(interactions) - 1, chosen))
    _next_actions_plan(interactions, random=random, today=today)
    Interaction.objects.bulk_create(interactions, batch_size=500)
    Interaction.contacts.through.objects.bulk_create(
        [
            Interaction.contacts.through(interaction_id=interactions[index].pk, contact_id=pk)
            for index, chosen in present
            for pk in chosen
        ],
        batch_size=1000,
    )
    Interaction.participants.through.objects.bulk_create(
        [
            Interaction.participants.through(
                interaction_id=interaction.pk, user_id=interaction.created_by_id
            )
            for interaction in interactions
        ],
        batch_size=1000,
    )
    _next_action_tasks(interactions, random=random, today=today)
    _plans(customers, random=random)
    _policy_history(start=start, today=today)
    _escalations_past(today=today, zone=zone)
    # The morning's jobs, run once as the scheduler would: the bell has this morning's digest,
    # overdue notices and escalations to managers instead of an empty list.
    followups_notify_due(today=today)
    followups_escalate(today=today)
    return True


def _escalations_past(*, today: dt.date, zone: ZoneInfo) -> None:
    """Tasks overdue for more than a fortnight were escalated back then, by the daily runs the
    demo's history did not have: recorded as such, so this morning's run notifies managers of
    the recent ones only, not of six months at once."""
    delay = dt.timedelta(days=settings_get().escalate_after_days)
    managers: dict[int, Any] = {}
    stale = list(
        FollowUpTask.objects.filter(
            status=FollowUpTask.Status.OPEN,
            escalated_at__isnull=True,
            due_date__lt=today - dt.timedelta(days=14),
        ).select_related("assignee", "assignee__department")
    )
    for task in stale:
        task.escalated_at = dt.datetime.combine(task.due_date + delay, dt.time(1, 0), tzinfo=zone)
        task.escalated_to = escalation_manager(task.assignee, cache=managers)
    FollowUpTask.objects.bulk_update(stale, ["escalated_at", "escalated_to"], batch_size=500)


def _weighted(random: Any, choices: tuple) -> tuple:
    total = sum(choice[-1] for choice in choices)
    pick = random.uniform(0, total)
    for choice in choices:
        pick -= choice[-1]
        if pick <= 0:
            return choice[:-1]
    return choices[-1][:-1]


def _next_actions_plan(interactions: list[Interaction], *, random: Any, today: dt.date) -> None:
    """One interaction in three promises something within two weeks; most of the last two
    weeks' do, so that the task lists have something coming up."""
    for interaction in interactions:
        day = interaction.occurred_at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
        if random.random() < (0.75 if (today - day).days <= 14 else 0.33):
            interaction.next_action = random.choice(NEXT_ACTIONS)
            interaction.next_action_date = day + dt.timedelta(days=random.randint(2, 14))


def _next_action_tasks(interactions: list[Interaction], *, random: Any, today: dt.date) -> None:
    """The next actions' tasks: those due in the past mostly done (on time, some late), a few
    still open and overdue; the future ones open."""
    zone = ZoneInfo(settings.TIME_ZONE)
    tasks = []
    for interaction in interactions:
        if interaction.next_action_date is None:
            continue
        due = interaction.next_action_date
        task = FollowUpTask(
            customer_id=interaction.customer_id,
            assignee_id=interaction.created_by_id,
            source=FollowUpTask.Source.NEXT_ACTION,
            kind=interaction.kind,
            title=interaction.next_action,
            note=interaction.next_action,
            origin=interaction,
            due_date=due,
            deadline=due,
            created_at=interaction.occurred_at,
            updated_at=interaction.occurred_at,
            created_by_id=interaction.created_by_id,
        )
        if due < today and random.random() < 0.85:
            done = min(today - dt.timedelta(days=1), due + dt.timedelta(days=_lateness(random)))
            task.status = FollowUpTask.Status.DONE
            task.completed_on = done
            task.completed_at = dt.datetime.combine(done, dt.time(16, 0), tzinfo=zone)
            task.completed_by_id = interaction.created_by_id
            task.updated_at = task.completed_at
        tasks.append(task)
    FollowUpTask.objects.bulk_create(tasks, batch_size=500)


def _lateness(random: Any) -> int:
    """Days after the due date: mostly on the day or before, sometimes late."""
    roll = random.random()
    if roll < 0.7:
        return -random.randint(0, 2)
    return random.randint(1, 6)


def _plans(customers: list[Customer], *, random: Any) -> None:
    chosen = [customer for customer in customers if random.random() < 0.06]
    CommunicationPlan.objects.bulk_create(
        [
            CommunicationPlan(
                customer=customer,
                channels=channels,
                frequency=frequency,
                max_per_month=maximum,
                themes=themes,
                notes=notes,
                created_by=customer.owner,
                updated_by=customer.owner,
            )
            for customer, (channels, frequency, maximum, themes, notes) in (
                (customer, PLANS[index % len(PLANS)]) for index, customer in enumerate(chosen)
            )
        ]
    )


def _policy_history(*, start: dt.date, today: dt.date) -> None:
    """The tasks the policies and plans made in the past periods, as the nightly job would have,
    each done with the first interaction that fulfils it (on time within its period, late after
    it) or still open; then the engine's run of today. Built in memory and written with one
    bulk_create: running the engine once per past period (about twenty runs) and completing its
    tasks afterwards took seconds."""
    zone = ZoneInfo(settings.TIME_ZONE)
    calendar = working_calendar(today=today)
    mapping = policies_by_class()
    plans = {plan.customer_id: plan for plan in CommunicationPlan.objects.all()}
    by_customer: dict[int, list[Interaction]] = defaultdict(list)
    for interaction in Interaction.objects.order_by("occurred_at", "id").only(
        "pk", "customer_id", "channel", "kind", "occurred_at", "created_by_id"
    ):
        by_customer[interaction.customer_id].append(interaction)
    tasks = []
    customers = Customer.objects.filter(owner__isnull=False, archived_at__isnull=True).only(
        "pk", "owner_id", "lifecycle", "account_class", "archived_at"
    )
    for customer in customers:
        policy = policy_for_customer(customer, mapping)
        for rule in effective_rules(policy=policy, plan=plans.get(customer.pk)):
            period = rule.period(start)
            while period.end < today:
                task = period_task_new(
                    customer_id=customer.pk,
                    owner_id=customer.owner_id,
                    rule=rule,
                    period=period,
                    due=working_day_on_or_before(calendar, period.end, not_before=period.start),
                    done=None,
                )
                task.created_at = task.updated_at = dt.datetime.combine(
                    period.start, dt.time(0, 40), tzinfo=zone
                )
                for interaction in by_customer.get(customer.pk, ()):
                    day = interaction.occurred_at.astimezone(zone).date()
                    if day < today and interaction_fulfils(task, interaction, day):
                        task.status = FollowUpTask.Status.DONE
                        task.completed_at = interaction.occurred_at
                        task.completed_on = day
                        task.completed_by_id = interaction.created_by_id
                        task.completed_interaction_id = interaction.pk
                        break
                tasks.append(task)
                period = periods.period_next(rule.unit, rule.interval, period)
    FollowUpTask.objects.bulk_create(tasks, batch_size=500, ignore_conflicts=True)
    followups_generate(today=today)
