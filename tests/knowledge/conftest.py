"""Fixtures for the knowledge base tests: the fast organisation of the accounts suite, a
fingerprint of every table the knowledge app writes, builders for articles (through the
services) and for tickets (with the ORM: the ticket services are written elsewhere)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from guanxi.accounts.models import User
from guanxi.core.models import AuditEntry
from guanxi.customers.models import Customer
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import (
    Article,
    ArticleView,
    KnowledgeCategory,
    KnowledgeTag,
    TicketArticleLink,
)
from guanxi.service.models import ServiceTeam, Ticket, TicketCategory
from tests.accounts.conftest import _fast_password_hashing, org  # noqa: F401  (fixtures)
from tests.conftest import Org
from tests.customers.conftest import make_contact, make_customer  # noqa: F401  (re-exported)

_numbers = itertools.count(1)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the knowledge app can write (soft-deleted ones too), its many-to-many links, the
    tickets and the audit trail."""
    state: dict[str, list[dict[str, Any]]] = {}
    models = (
        Article,
        Article.tags.through,
        Article.ticket_categories.through,
        Article.customers.through,
        ArticleView,
        KnowledgeCategory,
        KnowledgeTag,
        TicketArticleLink,
        Ticket,
        AuditEntry,
    )
    for model in models:
        manager = getattr(model, "_base_manager", model.objects)
        state[model._meta.label] = list(manager.order_by("pk").values())
    return state


def knowledge_category(code: str = "after-sales") -> KnowledgeCategory:
    """One of the categories migration 0002 seeds."""
    return KnowledgeCategory.objects.get(code=code)


def make_ticket_category(code: str = "kb-returns", name: str = "退换货") -> TicketCategory:
    return TicketCategory.objects.create(code=code, name=name)


def make_article(
    actor: User,
    title: str = "退货退款处理流程",
    body: str = "客户申请退货后，先核对订单与签收记录。",
    **fields: Any,
) -> Article:
    """An article written through the service (published unless ``status`` says otherwise;
    the author must then be an agent or administrator)."""
    fields.setdefault("category", knowledge_category())
    fields.setdefault("status", "published")
    return services.article_create(actor=actor, title=title, body=body, **fields)


def service_team(organisation: Org) -> ServiceTeam:
    """The service centre as a team, with the department handler in it."""
    team = ServiceTeam.objects.filter(department=organisation.service).first()
    if team is None:
        team = ServiceTeam.objects.create(department=organisation.service)
        team.members.add(organisation.handler)
    return team


def make_ticket(
    customer: Customer,
    category: TicketCategory,
    *,
    subject: str = "客户要求退货",
    description: str = "收到的货物外包装破损，客户要求退货退款。",
    **fields: Any,
) -> Ticket:
    """A ticket row as the service desk would file it, routed to ``fields["team"]`` if given
    (its department then scopes the ticket)."""
    team = fields.get("team")
    if team is not None:
        fields.setdefault("department", team.department)
    return Ticket.objects.create(
        number=f"T20261122-{next(_numbers):04d}",
        customer=customer,
        category=category,
        subject=subject,
        description=description,
        **fields,
    )


@pytest.fixture(autouse=True)
def _english_messages() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield
