"""Permission matrix of every knowledge page: anonymous, each of the seven roles and an outsider.

The records: a published article by the service agent, meant for the 退换货 ticket category; a
draft by the department handler; a published customer note about the rep's customer (华东组);
a ticket of that customer routed to the service centre's team (the handler is a member), with
another published article already used on it. Everyone reads published articles; drafts are for
their author, agents and administrators; the note for those who see the customer. Agents,
handlers and administrators write; agents and administrators publish and edit anything; a
handler edits their own draft. The ticket's readers see its suggestions, those who work it link
an article and take a link back. A denied request changes nothing; an allowed write changes
something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guanxi.customers.selectors import customer_visible_queryset
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article, KnowledgeCategory
from guanxi.service.models import Ticket
from tests.conftest import Org, login_client
from tests.knowledge.conftest import (
    db_state,
    knowledge_category,
    make_article,
    make_customer,
    make_ticket,
    make_ticket_category,
    service_team,
)

pytestmark = pytest.mark.django_db

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


@dataclass
class Records:
    article: Article  # published, by the agent
    draft: Article  # the handler's
    note: Article  # a published customer note about the rep's customer
    ticket: Ticket
    category: KnowledgeCategory
    linked: Article  # published, already "used to solve" the ticket


def _records(org: Org) -> Records:
    ticket_category = make_ticket_category()
    customer = make_customer(org.rep, "华为技术有限公司")
    article = make_article(org.agent, tags="退货, 售后", ticket_categories=[ticket_category.pk])
    draft = make_article(org.handler, "换货流程草稿", "先登记再换货。", status="draft")
    # by an administrator: the agent's own scope (their department) does not reach the customer
    note = make_article(
        org.admin,
        "华为的收货习惯",
        "只在工作日收货。",
        kind="customer_note",
        customers=[customer.pk],
    )
    ticket = make_ticket(customer, ticket_category, team=service_team(org))
    linked = make_article(org.agent, "退款到账时间", "原路退回，三至七个工作日到账。")
    services.article_ticket_link(actor=org.admin, article=linked, ticket=ticket)
    return Records(
        article=article,
        draft=draft,
        note=note,
        ticket=ticket,
        category=knowledge_category(),
        linked=linked,
    )


def _client(org: Org, key: str) -> Client:
    if key == "anonymous":
        return Client()
    return login_client(user_for(org, key))


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records, Org], dict[str, Any]] | None
    expected: dict[str, int] | Callable[[Org, Records, str], int]
    writes: bool


EVERYONE = dict.fromkeys(ROLES, 200)
WRITERS = ("administrator", "service_agent", "department_handler")
PUBLISHERS = ("administrator", "service_agent")
# The rep's customer: seen by the rep, their manager (subtree), administrators and analysts.
CUSTOMER_READERS = ("administrator", "sales_manager", "sales_rep", "analyst")
# The ticket: the customer's side as above, and the service centre (its department).
TICKET_READERS = (*CUSTOMER_READERS, "service_agent", "department_handler")
TICKET_WORKERS = ("administrator", "service_agent", "department_handler")


def user_for(org: Org, key: str) -> Any:
    return org.outsider if key == "outsider" else org.by_role()[key]


def note_reader(ok: int) -> Callable[[Org, Records, str], int]:
    """``ok`` for whoever can see the note's customer (service agents may see every customer,
    as their role's data scope says), 404 for anyone else: the note follows the customer."""

    def expected(org: Org, records: Records, key: str) -> int:
        customer = records.note.customers.get()
        visible = customer_visible_queryset(actor=user_for(org, key)).filter(pk=customer.pk)
        return ok if visible.exists() else 404

    return expected


def _only(allowed: tuple[str, ...], ok: int, otherwise: int) -> dict[str, int]:
    return {key: ok if key in allowed else otherwise for key in ROLES}


def _hidden_except(allowed: tuple[str, ...], ok: int, denied: int = 403) -> dict[str, int]:
    """``ok`` for ``allowed``; ``denied`` for the other readers; 404 for who cannot read."""
    return {key: ok if key in allowed else denied for key in ROLES}


def _draft(ok: int) -> dict[str, int]:
    return _only(("administrator", "service_agent", "department_handler"), ok, 404)


def _ticket_link(ok: int) -> dict[str, int]:
    return {
        key: ok if key in TICKET_WORKERS else (403 if key in TICKET_READERS else 404)
        for key in ROLES
    }


def _article_post(records: Records, org: Org) -> dict[str, Any]:
    return {
        "title": "发票重开流程",
        "kind": "faq",
        "category": knowledge_category("billing").pk,
        "body": "作废原发票后重新开具。",
        "tags": "发票",
    }


def _article_edit(records: Records, org: Org) -> dict[str, Any]:
    article = records.article
    return {
        "version": article.version,
        "title": article.title + "（修订）",
        "kind": article.kind,
        "category": article.category_id,
        "body": article.body,
        "tags": "退货, 售后",
        "ticket_categories": [row.pk for row in article.ticket_categories.all()],
    }


def _draft_edit(records: Records, org: Org) -> dict[str, Any]:
    draft = records.draft
    return {
        "version": draft.version,
        "title": draft.title,
        "kind": draft.kind,
        "category": draft.category_id,
        "body": draft.body + "\n再补充一步。",
    }


CASES = [
    Case("list", "GET", lambda r: "/service/knowledge/", None, EVERYONE, False),
    Case("search", "GET", lambda r: "/service/knowledge/?q=tuihuo", None, EVERYONE, False),
    Case(
        "detail",
        "GET",
        lambda r: f"/service/knowledge/articles/{r.article.pk}/",
        None,
        EVERYONE,
        True,  # the view counter
    ),
    Case(
        "detail-draft",
        "GET",
        lambda r: f"/service/knowledge/articles/{r.draft.pk}/",
        None,
        _draft(200),
        True,
    ),
    Case(
        "detail-note",
        "GET",
        lambda r: f"/service/knowledge/articles/{r.note.pk}/",
        None,
        note_reader(200),
        True,
    ),
    Case(
        "create-get",
        "GET",
        lambda r: "/service/knowledge/articles/new/",
        None,
        _only(WRITERS, 200, 403),
        False,
    ),
    Case(
        "create",
        "POST",
        lambda r: "/service/knowledge/articles/new/",
        _article_post,
        _only(WRITERS, 302, 403),
        True,
    ),
    Case(
        "edit-get",
        "GET",
        lambda r: f"/service/knowledge/articles/{r.article.pk}/edit/",
        None,
        _hidden_except(PUBLISHERS, 200),
        False,
    ),
    Case(
        "edit",
        "POST",
        lambda r: f"/service/knowledge/articles/{r.article.pk}/edit/",
        _article_edit,
        _hidden_except(PUBLISHERS, 302),
        True,
    ),
    Case(
        "edit-draft",
        "POST",
        lambda r: f"/service/knowledge/articles/{r.draft.pk}/edit/",
        _draft_edit,
        _draft(302),
        True,
    ),
    Case(
        "publish-draft",
        "POST",
        lambda r: f"/service/knowledge/articles/{r.draft.pk}/status/",
        lambda r, o: {"version": r.draft.version, "status": "published"},
        {**_draft(302), "department_handler": 403},
        True,
    ),
    Case(
        "archive",
        "POST",
        lambda r: f"/service/knowledge/articles/{r.article.pk}/status/",
        lambda r, o: {"version": r.article.version, "status": "archived"},
        _hidden_except(PUBLISHERS, 302),
        True,
    ),
    Case(
        "delete",
        "POST",
        lambda r: f"/service/knowledge/articles/{r.article.pk}/delete/",
        lambda r, o: {},
        _hidden_except(PUBLISHERS, 302),
        True,
    ),
    Case(
        "delete-draft",
        "POST",
        lambda r: f"/service/knowledge/articles/{r.draft.pk}/delete/",
        lambda r, o: {},
        _draft(302),
        True,
    ),
    Case("categories", "GET", lambda r: "/service/knowledge/categories/", None, EVERYONE, False),
    Case(
        "category-create",
        "POST",
        lambda r: "/service/knowledge/categories/",
        lambda r, o: {"code": "warranty", "name": "保修", "position": 70, "active": "on"},
        _only(("administrator",), 302, 403),
        True,
    ),
    Case(
        "category-edit-get",
        "GET",
        lambda r: f"/service/knowledge/categories/{r.category.pk}/edit/",
        None,
        _only(("administrator",), 200, 403),
        False,
    ),
    Case(
        "category-edit",
        "POST",
        lambda r: f"/service/knowledge/categories/{r.category.pk}/edit/",
        lambda r, o: {
            "version": r.category.version,
            "name": "售后政策与口径",
            "description": r.category.description,
            "position": r.category.position,
            "active": "on",
        },
        _only(("administrator",), 302, 403),
        True,
    ),
    Case(
        "ticket-suggestions",
        "GET",
        lambda r: f"/service/knowledge/suggest/tickets/{r.ticket.pk}/",
        None,
        _only(TICKET_READERS, 200, 404),
        False,
    ),
    Case(
        "ticket-article-link",
        "POST",
        lambda r: f"/service/knowledge/tickets/{r.ticket.pk}/articles/{r.article.pk}/link/",
        lambda r, o: {},
        _ticket_link(302),
        True,
    ),
    Case(
        "ticket-article-unlink",
        "POST",
        lambda r: f"/service/knowledge/tickets/{r.ticket.pk}/articles/{r.linked.pk}/unlink/",
        lambda r, o: {},
        _ticket_link(302),
        True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_knowledge_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    client = _client(org, actor)
    path = case.path(records)
    data = case.data(records, org) if case.data else None
    before = db_state()
    # when
    response = client.get(path) if case.method == "GET" else client.post(path, data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    expected = (
        case.expected[actor]
        if isinstance(case.expected, dict)
        else case.expected(org, records, actor)
    )
    assert response.status_code == expected, (case.name, actor, response.content[:800])
    if expected >= 400 or not case.writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_the_htmx_suggestions_fragment_follows_the_same_rules(org: Org) -> None:
    records = _records(org)
    path = f"/service/knowledge/suggest/tickets/{records.ticket.pk}/"
    for user, status in ((org.handler, 200), (org.kam, 404), (org.outsider, 404)):
        response = login_client(user).get(path, headers={"HX-Request": "true"})
        assert response.status_code == status, user
