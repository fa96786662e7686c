"""The tester: which rule and SLA policy a ticket would get, and its deadlines if opened now —
the same answer ticket_create gives, without writing anything."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from guanxi.service.models import ServiceTeam
from guanxi.service.services import ticket_create
from guanxi.service.setup import services
from guanxi.service.setup.selectors import routing_preview
from tests.conftest import Org
from tests.service.setup.conftest import category, db_state, make_customer

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def desk(org: Org) -> dict:
    """The usual teams and rules, plus 产品质量 · 紧急 · 广东省 → 客服中心, named to the handler,
    tried first."""
    services.service_defaults_ensure(actor=org.admin)
    service_team = ServiceTeam.objects.get(department=org.service)
    special = services.routing_rule_create(
        actor=org.admin,
        category=category("product_quality"),
        team=service_team,
        position=10,
        priority="urgent",
        region="440000",
        assignee=org.handler,
    )
    return {"service_team": service_team, "special": special}


def test_the_most_specific_rule_and_policy_apply(org: Org, desk: dict):
    # given a strategic key account in 深圳市南山区
    customer = make_customer(
        org.rep, "深圳某科技有限公司", region_code="440305", account_class="strategic"
    )
    now = at(11, 20, 16)
    before = db_state()
    # when
    preview = routing_preview(
        category=category("product_quality"), priority="urgent", customer=customer, now=now
    )
    # then the region rule wins, with the person it names
    assert preview.rule == desk["special"]
    assert preview.rule_label == "产品质量 · Urgent · 广东省 → 客服中心 · 用户handler"
    assert (preview.team, preview.assignee, preview.assignee_named) == (
        desk["service_team"],
        org.handler,
        True,
    )
    # and the key-account policy beats the urgent one: 2 h and 24 h around the clock
    assert preview.policy.name == "战略大客户专属服务"
    assert (preview.response_label, preview.resolution_label) == ("2 h", "24 h")
    assert preview.response_due_at == now + dt.timedelta(hours=2)
    assert preview.resolution_due_at == now + dt.timedelta(hours=24)
    assert preview.response_warn_at == now + dt.timedelta(minutes=96)  # 80 %
    assert preview.calendar_missing is None
    # nothing was written (the round robin did not move either)
    assert db_state() == before


def test_elsewhere_the_category_rule_and_the_working_hours_apply(org: Org, desk: dict):
    # given an ordinary customer in 北京市 and a high-priority quality problem on a Friday at 16:00
    customer = make_customer(org.rep, "北京某公司", region_code="110105")
    now = at(11, 20, 16)
    preview = routing_preview(
        category=category("product_quality"), priority="high", customer=customer, now=now
    )
    assert preview.rule_label == "产品质量 → 技术部 (Least loaded)"
    assert preview.assignee is None  # 技术部 has nobody yet
    assert preview.policy.name == "高优先级工单"
    # 4 h and 16 h of 09:00–18:00 on working days: Friday 16–18, then Monday and Tuesday
    assert preview.response_due_at == at(11, 23, 11)
    assert preview.resolution_due_at == at(11, 24, 14)


def test_the_preview_agrees_with_ticket_create(org: Org, desk: dict):
    customer = make_customer(org.rep, "广州某公司", region_code="440100")
    now = at(11, 20, 10, 30)
    preview = routing_preview(
        category=category("after_sales"), priority="normal", customer=customer, now=now
    )
    ticket = ticket_create(
        actor=org.admin,
        customer=customer,
        category=category("after_sales"),
        subject="安装指导",
        description="…",
        now=now,
    )
    assert (preview.rule, preview.team, preview.assignee, preview.policy) == (
        ticket.routing_rule,
        ticket.team,
        ticket.assignee,
        ticket.sla_policy,
    )
    assert (preview.response_due_at, preview.resolution_due_at) == (
        ticket.response_due_at,
        ticket.resolution_due_at,
    )


def test_no_rule_leaves_the_ticket_unassigned(org: Org):
    customer = make_customer(org.rep, "某公司")
    preview = routing_preview(
        category=category("billing_dispute"), priority="low", customer=customer, now=at(11, 20, 9)
    )
    assert (preview.rule, preview.team, preview.assignee) == (None, None, None)
    assert preview.policy.name == "标准服务承诺"


def test_a_year_missing_from_the_holiday_table_gives_no_deadline(org: Org, desk: dict):
    # 4 working hours from 31 December 16:00 reach into 2027, which the table does not cover
    customer = make_customer(org.rep, "某公司")
    preview = routing_preview(
        category=category("logistics_delay"),
        priority="high",
        customer=customer,
        now=at(12, 31, 16),
    )
    assert preview.calendar_missing == 2027
    assert (preview.response_due_at, preview.resolution_due_at) == (None, None)
