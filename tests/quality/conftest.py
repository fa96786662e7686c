"""Fixtures for the quality review tests: the fast organisation of the accounts suite with a
service team (its lead, the agent and the handler), a customer of the rep, builders for finished
tickets (straight into the table: the ticket services are not what is tested here) and for
interactions, the seeded score sheets, and a fingerprint of every table quality review writes."""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.models import AuditEntry
from guanxi.customers.models import Customer
from guanxi.engagement.models import Interaction
from guanxi.notifications.models import Notification
from guanxi.service.models import ServiceTeam, Ticket, TicketCategory
from guanxi.service.quality import services
from guanxi.service.quality.models import (
    Review,
    ReviewAssignment,
    ReviewScore,
    ScoreCriterion,
    ScoreSheet,
)
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.conftest import Org
from tests.customers.conftest import make_customer
from tests.factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
PERIOD_START = dt.date(2026, 10, 1)
PERIOD_END = dt.date(2026, 10, 31)
_numbers = itertools.count(1)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row quality review can write, the audit trail and the notifications."""
    state: dict[str, list[dict[str, Any]]] = {}
    for model in (
        ScoreSheet,
        ScoreCriterion,
        ReviewAssignment,
        Review,
        ReviewScore,
        AuditEntry,
        Notification,
    ):
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state


@dataclass
class World:
    org: Org
    lead: User  # leads the service team 客服中心 (the agent and the handler are its members)
    team: ServiceTeam
    category: TicketCategory
    customer: Customer  # the rep's
    ticket_sheet: ScoreSheet
    interaction_sheet: ScoreSheet

    def user(self, key: str) -> User | None:
        if key == "anonymous":
            return None
        if key == "outsider":
            return self.org.outsider
        if key == "team_lead":
            return self.lead
        return self.org.by_role()[key]


def make_ticket(
    world: World,
    *,
    assignee: User | None,
    status: str = "closed",
    finished: dt.datetime | None = None,
    team: ServiceTeam | None | str = "default",
    subject: str = "打印机卡纸",
    **fields: Any,
) -> Ticket:
    """A ticket straight into the table, finished (resolved) at ``finished``."""
    team_value = world.team if team == "default" else team
    finished = finished or at(dt.date(2026, 10, 15))
    number = f"T20261015-{next(_numbers):04d}"
    return Ticket.objects.create(
        number=number,
        customer=fields.pop("customer", world.customer),
        category=world.category,
        subject=subject,
        description=fields.pop("description", "客户反映打印机频繁卡纸，联系电话 13800138000。"),
        resolution=fields.pop("resolution", "更换搓纸轮后恢复正常。"),
        assignee=assignee,
        team=team_value,
        department=team_value.department if isinstance(team_value, ServiceTeam) else None,
        status=status,
        resolved_at=finished if status in ("resolved", "confirmed", "closed") else None,
        closed_at=finished if status == "closed" else None,
        **fields,
    )


def make_interaction(
    world: World,
    *,
    author: User | None = None,
    when: dt.datetime | None = None,
    customer: Customer | None = None,
    content: str = "电话回访，客户对新版本满意，约定下周演示。",
) -> Interaction:
    author = author or world.org.rep
    return Interaction.objects.create(
        customer=customer or world.customer,
        channel="phone",
        kind="greeting",
        occurred_at=when or at(dt.date(2026, 10, 12)),
        content=content,
        created_by=author,
        updated_by=author,
    )


def full_scores(sheet: ScoreSheet, **overrides: int) -> dict[int, int]:
    """Full points on every criterion, except those named (by criterion name) in overrides."""
    return {
        criterion.pk: overrides.get(criterion.name, criterion.max_points)
        for criterion in ScoreCriterion.objects.filter(sheet=sheet)
    }


def review_ticket(
    world: World, ticket: Ticket, *, actor: User | None = None, **scores: int
) -> Review:
    return services.quality_review_submit(
        actor=actor or world.lead,
        sheet=world.ticket_sheet,
        ticket=ticket,
        scores=full_scores(world.ticket_sheet, **scores),
    )


def review_interaction(
    world: World, interaction: Interaction, *, actor: User | None = None, **scores: int
) -> Review:
    return services.quality_review_submit(
        actor=actor or world.org.manager,
        sheet=world.interaction_sheet,
        interaction=interaction,
        scores=full_scores(world.interaction_sheet, **scores),
    )


def sheets_seed() -> None:
    """The score sheets migration 0002 seeds, put back after a transactional test's flush."""
    if ScoreSheet.all_objects.exists():
        return
    from django.apps import apps

    module = importlib.import_module("guanxi.service.quality.migrations.0002_default_sheets")
    module.seed(apps, None)


@pytest.fixture
def world(org: Org) -> World:  # noqa: F811  (the imported fixture, requested)
    sheets_seed()
    lead = UserFactory(
        username="lead", full_name="客服组长", role=Role.SERVICE_AGENT, department=org.service
    )
    team = ServiceTeam.objects.create(department=org.service, lead=lead)
    team.members.add(org.agent, org.handler)
    category = TicketCategory.objects.create(name="产品质量", code="product-quality")
    customer = make_customer(org.rep, "华为技术有限公司")
    return World(
        org=org,
        lead=lead,
        team=team,
        category=category,
        customer=customer,
        ticket_sheet=ScoreSheet.objects.get(applies_to="ticket"),
        interaction_sheet=ScoreSheet.objects.get(applies_to="interaction"),
    )
