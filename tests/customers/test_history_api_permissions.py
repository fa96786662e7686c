"""Permission matrix of every history-library and verification endpoint: anonymous, each role
and an outsider. Anonymous calls get 401; a denied call changes nothing; an allowed write changes
something. The records are those of the pages' matrix (test_history_views_permissions)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient, Org
from tests.customers.conftest import db_state
from tests.customers.test_api_permissions import (
    ACTORS,
    ADMIN_ONLY_DENIED,
    DENIED_CODES,
    EVERYONE_200,
    MANAGERS_200,
    NON_MANAGERS_403,
    OWN_HIDDEN,
    OWN_READ,
    OWN_WRITE_DENIED,
    POOL_WRITE_DENIED,
    Endpoint,
    actor_for,
)
from tests.customers.test_history_views_permissions import _records

pytestmark = pytest.mark.django_db

OWN_WRITE_200 = {"administrator": 200, "sales_manager": 200, "sales_rep": 200}


def _given(org: Org) -> dict[str, Any]:
    records = _records(org)
    return {
        "own": records.owned,
        "task": records.task,
        "archived": records.archived,
        "pool": records.pool,
        "reason": records.reason,
    }


ENDPOINTS = [
    Endpoint(
        "history-list",
        "GET",
        lambda o, g: "/api/v1/customers?archived=1",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "customer-archive",
        "POST",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}/archive",
        lambda o, g: {"churn_reason": "price", "churn_note": "太贵"},
        OWN_WRITE_200,
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-archive-pool",
        "POST",
        lambda o, g: f"/api/v1/customers/{g['pool'].pk}/archive",
        lambda o, g: {"churn_reason": "unreachable", "lifecycle": "stopped"},
        MANAGERS_200,
        POOL_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-restore",
        "POST",
        lambda o, g: f"/api/v1/customers/{g['archived'].pk}/restore",
        lambda o, g: {"lifecycle": "intent", "version": g["archived"].version},
        OWN_WRITE_200,
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "churn-breakdown",
        "GET",
        lambda o, g: "/api/v1/churn-breakdown",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "churn-reason-list",
        "GET",
        lambda o, g: "/api/v1/churn-reasons",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "churn-reason-create",
        "POST",
        lambda o, g: "/api/v1/churn-reasons",
        lambda o, g: {"code": "policy", "name": "政策变化"},
        {"administrator": 201},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Endpoint(
        "churn-reason-edit",
        "PATCH",
        lambda o, g: f"/api/v1/churn-reasons/{g['reason'].pk}",
        lambda o, g: {"version": g["reason"].version, "name": "被收购"},
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Endpoint(
        "verification-task-list",
        "GET",
        lambda o, g: "/api/v1/verification-tasks",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "verification-task-generate",
        "POST",
        lambda o, g: "/api/v1/verification-tasks/generate",
        None,
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Endpoint(
        "verification-task-detail",
        "GET",
        lambda o, g: f"/api/v1/verification-tasks/{g['task'].pk}",
        None,
        OWN_READ,
        OWN_HIDDEN,
        False,
    ),
    Endpoint(
        "verification-task-verify",
        "POST",
        lambda o, g: f"/api/v1/verification-tasks/{g['task'].pk}/verify",
        lambda o, g: {"note": "电话确认"},
        OWN_WRITE_200,
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "verification-report",
        "GET",
        lambda o, g: "/api/v1/verification-report",
        None,
        MANAGERS_200,
        NON_MANAGERS_403,
        False,
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_history_and_verification_endpoint_permissions(
    org: Org, endpoint: Endpoint, actor: str
) -> None:
    # given
    given = _given(org)
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(org, given)
    body = endpoint.body(org, given) if endpoint.body else None
    before = db_state()
    # when
    response = client.request(endpoint.method, path, json=body)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
    elif actor in endpoint.allowed:
        assert response.status_code == endpoint.allowed[actor], response.content[:500]
        if endpoint.writes:
            assert db_state() != before
        else:
            assert db_state() == before
    else:
        assert response.status_code == endpoint.denied[actor], response.content[:500]
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[response.status_code]
        assert db_state() == before


def test_every_history_and_verification_endpoint_is_in_the_matrix() -> None:
    from guanxi.customers.api import router

    words = ("archive", "restore", "churn", "verification", "archived")
    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
        if any(word in path for word in words)
    }
    covered = {
        ("POST", "/customers/{customer_id}/archive"),
        ("POST", "/customers/{customer_id}/restore"),
        ("GET", "/churn-breakdown"),
        ("GET", "/churn-reasons"),
        ("POST", "/churn-reasons"),
        ("PATCH", "/churn-reasons/{reason_id}"),
        ("GET", "/verification-tasks"),
        ("POST", "/verification-tasks/generate"),
        ("GET", "/verification-tasks/{task_id}"),
        ("POST", "/verification-tasks/{task_id}/verify"),
        ("GET", "/verification-report"),
    }
    assert operations == covered
    names = {endpoint.name for endpoint in ENDPOINTS}
    assert len(names) == len(ENDPOINTS) >= len(covered)
