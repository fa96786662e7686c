"""Fixtures of the service desk set-up tests: the fast organisation of the accounts suite, a
fingerprint of every table the set-up writes, and a few records built through the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.accounts.models import Department, User
from guanxi.core.models import AuditEntry
from guanxi.service.models import RoutingRule, ServiceTeam, SlaPolicy, Ticket, TicketCategory
from guanxi.service.setup import services
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.conftest import Org
from tests.customers.conftest import make_customer  # noqa: F401  (re-exported)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the set-up can write (soft-deleted ones too), and the audit trail."""
    state: dict[str, list[dict[str, Any]]] = {}
    for model in (
        TicketCategory,
        ServiceTeam,
        ServiceTeam.members.through,
        RoutingRule,
        SlaPolicy,
        Department,
        User,
        Ticket,
        AuditEntry,
    ):
        rows = model._base_manager.order_by("pk").values()
        state[model._meta.label] = [
            {k: v for k, v in row.items() if k not in {"last_login"}} for row in rows
        ]
    return state


def category(code: str = "product_quality") -> TicketCategory:
    """One of the categories migration 0002 seeds."""
    return TicketCategory.objects.get(code=code)


def policy(name: str = "标准服务承诺") -> SlaPolicy:
    """One of the SLA policies migration 0002 seeds."""
    return SlaPolicy.objects.get(name=name)


@dataclass
class Records:
    team: ServiceTeam  # 客服中心's, the agent and the handler in it, the agent leading
    rule: RoutingRule  # 售后支持 → 客服中心
    policy: SlaPolicy  # the seeded standard promise
    spare: TicketCategory  # a category nothing uses (free to delete)
    category: TicketCategory  # 售后支持


def records(organisation: Org) -> Records:
    team = services.service_team_create(
        actor=organisation.admin,
        department=organisation.service,
        lead=organisation.agent,
        members=[organisation.agent, organisation.handler],
    )
    after_sales = category("after_sales")
    rule = services.routing_rule_create(actor=organisation.admin, category=after_sales, team=team)
    spare = services.ticket_category_create(actor=organisation.admin, name="其他", code="other")
    return Records(team=team, rule=rule, policy=policy(), spare=spare, category=after_sales)


def actor_for(organisation: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    return organisation.outsider if key == "outsider" else organisation.by_role()[key]


ACTORS = [
    "anonymous",
    "administrator",
    "sales_manager",
    "sales_rep",
    "key_account_manager",
    "service_agent",
    "department_handler",
    "analyst",
    "outsider",
]
ROLES = ACTORS[1:]


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield
