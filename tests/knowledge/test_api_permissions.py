"""Permission matrix of every knowledge API endpoint: anonymous, each role and an outsider.

Anonymous calls get 401; a denied call answers the error contract and changes nothing; an allowed
write changes something. The records are those of the pages' matrix (test_views_permissions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ApiClient, Org
from tests.knowledge.conftest import db_state, knowledge_category
from tests.knowledge.test_views_permissions import (
    ACTORS,
    EVERYONE,
    PUBLISHERS,
    TICKET_READERS,
    WRITERS,
    Records,
    _draft,
    _hidden_except,
    _only,
    _records,
    _ticket_link,
    note_reader,
    user_for,
)

pytestmark = pytest.mark.django_db

DENIED_CODES = {403: "permission_denied", 404: "not_found"}
ADMIN = ("administrator",)


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Records], str]
    body: Callable[[Records, Org], Any] | None
    expected: dict[str, int] | Callable[[Org, Records, str], int]
    writes: bool


def _article_in(records: Records, org: Org) -> dict[str, Any]:
    return {
        "title": "发票重开流程",
        "body": "作废原发票后重新开具。",
        "kind": "faq",
        "category_id": knowledge_category("billing").pk,
        "tags": ["发票"],
    }


ENDPOINTS = [
    Endpoint("articles", "GET", lambda r: "/api/v1/knowledge/articles", None, EVERYONE, False),
    Endpoint(
        "articles-search",
        "GET",
        lambda r: "/api/v1/knowledge/articles?q=%E9%80%80%E8%B4%A7",
        None,
        EVERYONE,
        False,
    ),
    Endpoint(
        "article-add",
        "POST",
        lambda r: "/api/v1/knowledge/articles",
        _article_in,
        _only(WRITERS, 201, 403),
        True,
    ),
    Endpoint(
        "article-show",
        "GET",
        lambda r: f"/api/v1/knowledge/articles/{r.article.pk}",
        None,
        EVERYONE,
        True,  # the view counter
    ),
    Endpoint(
        "article-show-draft",
        "GET",
        lambda r: f"/api/v1/knowledge/articles/{r.draft.pk}",
        None,
        _draft(200),
        True,
    ),
    Endpoint(
        "article-show-note",
        "GET",
        lambda r: f"/api/v1/knowledge/articles/{r.note.pk}",
        None,
        note_reader(200),
        True,
    ),
    Endpoint(
        "article-edit",
        "PATCH",
        lambda r: f"/api/v1/knowledge/articles/{r.article.pk}",
        lambda r, o: {"version": r.article.version, "title": "退货退款处理流程（修订）"},
        _hidden_except(PUBLISHERS, 200),
        True,
    ),
    Endpoint(
        "article-edit-draft",
        "PATCH",
        lambda r: f"/api/v1/knowledge/articles/{r.draft.pk}",
        lambda r, o: {"version": r.draft.version, "body": "先登记，再换货。"},
        _draft(200),
        True,
    ),
    Endpoint(
        "article-publish-draft",
        "PATCH",
        lambda r: f"/api/v1/knowledge/articles/{r.draft.pk}",
        lambda r, o: {"version": r.draft.version, "status": "published"},
        {**_draft(200), "department_handler": 403},
        True,
    ),
    Endpoint(
        "article-remove",
        "DELETE",
        lambda r: f"/api/v1/knowledge/articles/{r.article.pk}",
        None,
        _hidden_except(PUBLISHERS, 204),
        True,
    ),
    Endpoint(
        "article-remove-draft",
        "DELETE",
        lambda r: f"/api/v1/knowledge/articles/{r.draft.pk}",
        None,
        _draft(204),
        True,
    ),
    Endpoint(
        "ticket-suggestions",
        "GET",
        lambda r: f"/api/v1/knowledge/tickets/{r.ticket.pk}/suggestions",
        None,
        _only(TICKET_READERS, 200, 404),
        False,
    ),
    Endpoint(
        "ticket-article-link",
        "POST",
        lambda r: f"/api/v1/knowledge/tickets/{r.ticket.pk}/articles/{r.article.pk}/link",
        None,
        _ticket_link(201),
        True,
    ),
    Endpoint(
        "ticket-article-unlink",
        "DELETE",
        lambda r: f"/api/v1/knowledge/tickets/{r.ticket.pk}/articles/{r.linked.pk}/link",
        None,
        _ticket_link(204),
        True,
    ),
    Endpoint("categories", "GET", lambda r: "/api/v1/knowledge/categories", None, EVERYONE, False),
    Endpoint(
        "category-add",
        "POST",
        lambda r: "/api/v1/knowledge/categories",
        lambda r, o: {"code": "warranty", "name": "保修", "position": 70},
        _only(ADMIN, 201, 403),
        True,
    ),
    Endpoint(
        "category-edit",
        "PATCH",
        lambda r: f"/api/v1/knowledge/categories/{r.category.pk}",
        lambda r, o: {"version": r.category.version, "name": "售后政策与口径"},
        _only(ADMIN, 200, 403),
        True,
    ),
]


def _call(client: ApiClient, endpoint: Endpoint, path: str, body: Any) -> Any:
    if endpoint.method == "GET":
        return client.get(path)
    if endpoint.method == "DELETE":
        return client.delete(path)
    return client.request(endpoint.method, path, json=body if body is not None else {})


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_knowledge_endpoint_permissions(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    records = _records(org)
    client = ApiClient(None if actor == "anonymous" else user_for(org, actor))
    path = endpoint.path(records)
    body = endpoint.body(records, org) if endpoint.body else None
    before = db_state()
    # when
    response = _call(client, endpoint, path, body)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
        return
    expected = (
        endpoint.expected[actor]
        if isinstance(endpoint.expected, dict)
        else endpoint.expected(org, records, actor)
    )
    assert response.status_code == expected, (endpoint.name, actor, response.content[:500])
    if expected >= 400:
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[expected]
        assert db_state() == before
    elif endpoint.writes:
        assert db_state() != before
    else:
        assert db_state() == before


def test_every_knowledge_endpoint_is_in_the_matrix() -> None:
    from guanxi.service.knowledge.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    assert operations == {
        ("GET", "/knowledge/articles"),
        ("POST", "/knowledge/articles"),
        ("GET", "/knowledge/articles/{article_id}"),
        ("PATCH", "/knowledge/articles/{article_id}"),
        ("DELETE", "/knowledge/articles/{article_id}"),
        ("GET", "/knowledge/tickets/{ticket_id}/suggestions"),
        ("POST", "/knowledge/tickets/{ticket_id}/articles/{article_id}/link"),
        ("DELETE", "/knowledge/tickets/{ticket_id}/articles/{article_id}/link"),
        ("GET", "/knowledge/categories"),
        ("POST", "/knowledge/categories"),
        ("PATCH", "/knowledge/categories/{category_id}"),
    }
