"""Permission matrix of every feedback API endpoint: anonymous, each role and an outsider.

Anonymous calls get 401; a denied call answers the error contract and changes nothing; an allowed
write changes something. The records are those of the pages' matrix (test_views_permissions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ApiClient, Org
from tests.feedback.conftest import db_state
from tests.feedback.test_views_permissions import (
    ACTORS,
    ROLES,
    SURVEY_MANAGERS,
    Records,
    _records,
    _sees_customer,
)

pytestmark = pytest.mark.django_db

EVERYONE_200 = dict.fromkeys(ROLES, 200)
ITEM_READERS = ("administrator", "sales_manager", "sales_rep", "service_agent",
                "department_handler", "analyst")  # fmt: skip
ITEM_HIDDEN = {"key_account_manager": 404, "outsider": 404}
CUSTOMER_WRITERS = ("administrator", "sales_manager", "sales_rep")
DENIED_CODES = {403: "permission_denied", 404: "not_found"}


def _ok(status: int, keys: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(keys, status)


def _survey_denied() -> dict[str, int]:
    return {key: 403 for key in ROLES if key not in SURVEY_MANAGERS}


def actor_for(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    return org.outsider if key == "outsider" else org.by_role()[key]


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Records], str]
    body: Callable[[Records, Org, str], Any] | None
    allowed: dict[str, int]
    denied: dict[str, int]
    writes: bool | frozenset[str]


ANSWERERS = ("administrator", "sales_manager", "sales_rep", "service_agent", "department_handler")
REACH = frozenset({"administrator", "sales_manager", "analyst"})

ENDPOINTS = [
    Endpoint(
        "items",
        "GET",
        lambda r: "/api/v1/feedback-items?status=active",
        None,
        EVERYONE_200,
        {},
        False,
    ),  # fmt: skip
    Endpoint(
        "item-add",
        "POST",
        lambda r: "/api/v1/feedback-items",
        lambda r, o, k: {
            "customer_id": r.customer.pk,
            "summary": "电话里抱怨交付慢",
            "contact_id": r.contact.pk,
            "score": 3,
        },
        _ok(201, CUSTOMER_WRITERS),
        {
            "analyst": 403,
            "key_account_manager": 404,
            "service_agent": 404,
            "department_handler": 404,
            "outsider": 404,
        },
        True,
    ),
    Endpoint(
        "item-show",
        "GET",
        lambda r: f"/api/v1/feedback-items/{r.item.pk}",
        None,
        _ok(200, ITEM_READERS),
        ITEM_HIDDEN,
        False,
    ),
    Endpoint(
        "item-respond",
        "POST",
        lambda r: f"/api/v1/feedback-items/{r.item.pk}/respond",
        lambda r, o, k: {"version": r.item.version, "response": "已电话致歉"},
        _ok(200, ANSWERERS),
        {"analyst": 403, **ITEM_HIDDEN},
        True,
    ),
    Endpoint(
        "item-close",
        "POST",
        lambda r: f"/api/v1/feedback-items/{r.responded.pk}/close",
        lambda r, o, k: {"version": r.responded.version},
        _ok(200, ANSWERERS),
        {"analyst": 403, **ITEM_HIDDEN},
        True,
    ),
    Endpoint(
        "item-assign",
        "POST",
        lambda r: f"/api/v1/feedback-items/{r.item.pk}/assign",
        lambda r, o, k: {"version": r.item.version, "owner_id": getattr(actor_for(o, k), "pk", 0)},
        {**_ok(200, ANSWERERS), "department_handler": 422},  # owns it already
        {"analyst": 403, **ITEM_HIDDEN},
        True,
    ),
    Endpoint("surveys", "GET", lambda r: "/api/v1/surveys", None, EVERYONE_200, {}, False),
    Endpoint(
        "survey-add",
        "POST",
        lambda r: "/api/v1/surveys",
        lambda r, o, k: {"title": "服务满意度", "kind": "nps"},
        _ok(201, SURVEY_MANAGERS),
        _survey_denied(),
        True,
    ),
    Endpoint(
        "analysis",
        "GET",
        lambda r: "/api/v1/surveys/analysis?date_from=2026-01-01",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "survey-show",
        "GET",
        lambda r: f"/api/v1/surveys/{r.sent.pk}",
        None,
        EVERYONE_200,
        {},
        False,
    ),  # fmt: skip
    Endpoint(
        "survey-edit",
        "PATCH",
        lambda r: f"/api/v1/surveys/{r.draft.pk}",
        lambda r, o, k: {"version": r.draft.version, "title": "草稿（改）"},
        _ok(200, SURVEY_MANAGERS),
        _survey_denied(),
        True,
    ),
    Endpoint(
        "survey-delete",
        "DELETE",
        lambda r: f"/api/v1/surveys/{r.draft.pk}",
        None,
        _ok(204, SURVEY_MANAGERS),
        _survey_denied(),
        True,
    ),
    Endpoint(
        "survey-close",
        "POST",
        lambda r: f"/api/v1/surveys/{r.sent.pk}/close",
        lambda r, o, k: {"version": r.sent.version},
        _ok(200, SURVEY_MANAGERS),
        _survey_denied(),
        True,
    ),
    Endpoint(
        "survey-send-count",
        "POST",
        lambda r: f"/api/v1/surveys/{r.draft.pk}/send",
        lambda r, o, k: {"lifecycle": "potential"},
        _ok(200, SURVEY_MANAGERS),
        _survey_denied(),
        False,
    ),
    Endpoint(
        "survey-send",
        "POST",
        lambda r: f"/api/v1/surveys/{r.draft.pk}/send",
        lambda r, o, k: {"confirm": True, "email": False},
        _ok(201, SURVEY_MANAGERS),
        _survey_denied(),
        REACH,
    ),
    Endpoint(
        "survey-links",
        "POST",
        lambda r: f"/api/v1/surveys/{r.sent.pk}/links",
        lambda r, o, k: {},
        _ok(200, SURVEY_MANAGERS),
        _survey_denied(),
        REACH,
    ),
    Endpoint(
        "survey-results",
        "GET",
        lambda r: f"/api/v1/surveys/{r.sent.pk}/results",
        None,
        EVERYONE_200,
        {},
        False,
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
def test_feedback_endpoint_permissions(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    records = _records(org)
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(records)
    body = endpoint.body(records, org, actor) if endpoint.body else None
    allowed, denied = dict(endpoint.allowed), dict(endpoint.denied)
    writes = endpoint.writes if isinstance(endpoint.writes, bool) else actor in endpoint.writes
    if actor == "service_agent" and _sees_customer(org.agent, records.customer):
        # The service desk's data scope is a setting: with "all", the agent records feedback on
        # the customer and reaches it when sending.
        if endpoint.name == "item-add":
            denied.pop(actor, None)
            allowed[actor] = 201
        writes = writes or endpoint.name in {"survey-send", "survey-links"}
    before = db_state()
    # when
    response = _call(client, endpoint, path, body)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
    elif actor in allowed:
        assert response.status_code == allowed[actor], response.content[:500]
        if writes and response.status_code < 400:
            assert db_state() != before
        else:
            assert db_state() == before
    else:
        assert response.status_code == denied[actor], response.content[:500]
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[response.status_code]
        assert db_state() == before


def test_every_feedback_endpoint_is_in_the_matrix() -> None:
    from guanxi.feedback.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    covered = {
        (endpoint.method, endpoint.path(_FakeRecords()).removeprefix("/api/v1").split("?")[0])
        for endpoint in ENDPOINTS
    }
    assert operations == {
        ("GET", "/feedback-items"),
        ("POST", "/feedback-items"),
        ("GET", "/feedback-items/{item_id}"),
        ("POST", "/feedback-items/{item_id}/respond"),
        ("POST", "/feedback-items/{item_id}/close"),
        ("POST", "/feedback-items/{item_id}/assign"),
        ("GET", "/surveys"),
        ("POST", "/surveys"),
        ("GET", "/surveys/analysis"),
        ("GET", "/surveys/{survey_id}"),
        ("PATCH", "/surveys/{survey_id}"),
        ("DELETE", "/surveys/{survey_id}"),
        ("POST", "/surveys/{survey_id}/close"),
        ("POST", "/surveys/{survey_id}/send"),
        ("POST", "/surveys/{survey_id}/links"),
        ("GET", "/surveys/{survey_id}/results"),
    }
    assert covered == operations


class _FakeRecords:
    """Stands in for the records so that the matrix's paths can be read as templates."""

    class _Row:
        def __init__(self, name: str) -> None:
            self.pk = "{" + name + "}"
            self.version = 1

    customer = contact = _Row("customer_id")
    item = responded = _Row("item_id")
    draft = sent = _Row("survey_id")
