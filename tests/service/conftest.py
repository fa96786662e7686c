"""Fixtures for the service-desk tests: the organisation of the accounts suite, two service teams
with routing rules, customers, and a fingerprint of every table the service app writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.core.models import AuditEntry
from guanxi.customers.models import Contact, Customer
from guanxi.service import services
from guanxi.service.models import (
    RoutingRule,
    ServiceTeam,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketComment,
    TicketConfirmation,
    TicketNumberCounter,
    TicketPause,
    TicketTransition,
)
from tests.accounts import conftest as accounts_fixtures
from tests.customers.conftest import make_contact, make_customer  # noqa: F401  (re-exported)
from tests.factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The accounts suite's organisation and its fast password hashing, as fixtures here.
org = accounts_fixtures.org
_fast_password_hashing = accounts_fixtures._fast_password_hashing


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def category(code: str) -> TicketCategory:
    """One of the categories migration service/0002 seeds."""
    return TicketCategory.objects.get(code=code)


@dataclass
class Desk:
    tech: ServiceTeam
    care: ServiceTeam  # 客服中心: the org's service department
    tech_lead: User
    engineer1: User
    engineer2: User
    customer: Customer  # owned by org.rep
    contact: Contact
    vip: Customer  # a strategic key account, owned by org.other_rep


@pytest.fixture
def desk(org: Any) -> Desk:
    tech_department = Department.objects.create(name="技术部", code="tech", parent=org.hq)
    tech_lead = UserFactory(
        username="tech_lead",
        full_name="周工",
        role=Role.DEPARTMENT_HANDLER,
        department=tech_department,
    )
    engineer1 = UserFactory(
        username="engineer1",
        full_name="吴工",
        role=Role.DEPARTMENT_HANDLER,
        department=tech_department,
    )
    engineer2 = UserFactory(
        username="engineer2",
        full_name="郑工",
        role=Role.DEPARTMENT_HANDLER,
        department=tech_department,
    )
    tech = ServiceTeam.objects.create(
        department=tech_department, lead=tech_lead, assignment_mode="round_robin"
    )
    tech.members.set([engineer1, engineer2])
    care = ServiceTeam.objects.create(department=org.service, assignment_mode="least_loaded")
    care.members.set([org.handler])
    RoutingRule.objects.create(position=10, category=category("product_quality"), team=tech)
    RoutingRule.objects.create(position=20, category=category("after_sales"), team=care)
    customer = make_customer(org.rep, "深圳市华南精密机械有限公司")
    contact = make_contact(customer, "林晓峰", email="lin@example.com")
    vip = make_customer(org.other_rep, "北方重工集团有限公司", account_class="strategic")
    return Desk(
        tech=tech,
        care=care,
        tech_lead=tech_lead,
        engineer1=engineer1,
        engineer2=engineer2,
        customer=customer,
        contact=contact,
        vip=vip,
    )


def open_ticket(
    org: Any,
    desk: Desk,
    *,
    code: str = "product_quality",
    now: dt.datetime | None = None,
    **fields: Any,
) -> Ticket:
    actor = fields.pop("actor", None) or org.agent
    values: dict[str, Any] = {
        "customer": desk.customer,
        "category": category(code),
        "subject": "设备异响",
        "description": "客户反映主轴运行时有异响，影响加工精度。",
        "contact": desk.contact,
    }
    values.update(fields)
    return services.ticket_create(actor=actor, now=now, **values)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the service app can write, what it makes elsewhere (feedback items,
    notifications), and the audit trail."""
    from guanxi.feedback.models import FeedbackItem
    from guanxi.notifications.models import Notification

    state: dict[str, list[dict[str, Any]]] = {}
    for model in (
        Ticket,
        TicketAttachment,
        RoutingRule,
        FeedbackItem,
        Notification,
        TicketTransition,
        TicketComment,
        TicketPause,
        TicketConfirmation,
        TicketNumberCounter,
        ServiceTeam,
        AuditEntry,
    ):
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state
