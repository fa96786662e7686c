"""Permission matrix of every set-up endpoint: anonymous, each role and an outsider. Anonymous
calls get 401; every signed-in user reads the categories; the rest is the administrators' (403
for everyone else, in the error contract, changing nothing); an allowed write changes
something."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ApiClient, Org
from tests.service.setup.conftest import (
    ACTORS,
    ROLES,
    Records,
    actor_for,
    db_state,
    make_customer,
    records,
)

pytestmark = pytest.mark.django_db

EVERYONE = "everyone"
ADMIN = "admin"


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Records], str]
    body: Callable[[Records, Org], Any] | None
    ok: int
    who: str
    writes: bool


def _preview(r: Records) -> str:
    customer = make_customer(None, "测试客户")
    return (
        f"/api/v1/routing-preview?category_id={r.category.pk}&priority=high"
        f"&customer_id={customer.pk}"
    )


ENDPOINTS = [
    Endpoint(
        "categories", "GET", lambda r: "/api/v1/service-categories", None, 200, EVERYONE, False
    ),
    Endpoint(
        "category-show",
        "GET",
        lambda r: f"/api/v1/service-categories/{r.spare.pk}",
        None,
        200,
        EVERYONE,
        False,
    ),
    Endpoint(
        "category-add",
        "POST",
        lambda r: "/api/v1/service-categories",
        lambda r, o: {"name": "安装", "code": "installation"},
        201,
        ADMIN,
        True,
    ),
    Endpoint(
        "category-edit",
        "PATCH",
        lambda r: f"/api/v1/service-categories/{r.spare.pk}",
        lambda r, o: {"version": r.spare.version, "active": False},
        200,
        ADMIN,
        True,
    ),
    Endpoint(
        "category-remove",
        "DELETE",
        lambda r: f"/api/v1/service-categories/{r.spare.pk}",
        None,
        204,
        ADMIN,
        True,
    ),
    Endpoint("teams", "GET", lambda r: "/api/v1/service-teams", None, 200, ADMIN, False),
    Endpoint(
        "team-show", "GET", lambda r: f"/api/v1/service-teams/{r.team.pk}", None, 200, ADMIN, False
    ),
    Endpoint(
        "team-add",
        "POST",
        lambda r: "/api/v1/service-teams",
        lambda r, o: {"department_id": o.hq.pk, "member_ids": [o.agent.pk]},
        201,
        ADMIN,
        True,
    ),
    Endpoint(
        "team-edit",
        "PATCH",
        lambda r: f"/api/v1/service-teams/{r.team.pk}",
        lambda r, o: {"version": r.team.version, "work_start": "08:00"},
        200,
        ADMIN,
        True,
    ),
    Endpoint(
        # refused by the service (a rule sends tickets to it): 422 for the administrator
        "team-remove",
        "DELETE",
        lambda r: f"/api/v1/service-teams/{r.team.pk}",
        None,
        422,
        ADMIN,
        False,
    ),
    Endpoint("rules", "GET", lambda r: "/api/v1/routing-rules", None, 200, ADMIN, False),
    Endpoint(
        "rule-show", "GET", lambda r: f"/api/v1/routing-rules/{r.rule.pk}", None, 200, ADMIN, False
    ),
    Endpoint(
        "rule-add",
        "POST",
        lambda r: "/api/v1/routing-rules",
        lambda r, o: {"category_id": r.spare.pk, "team_id": r.team.pk, "region_code": "440000"},
        201,
        ADMIN,
        True,
    ),
    Endpoint(
        "rule-edit",
        "PATCH",
        lambda r: f"/api/v1/routing-rules/{r.rule.pk}",
        lambda r, o: {"version": r.rule.version, "priority": "urgent"},
        200,
        ADMIN,
        True,
    ),
    Endpoint(
        "rule-remove",
        "DELETE",
        lambda r: f"/api/v1/routing-rules/{r.rule.pk}",
        None,
        204,
        ADMIN,
        True,
    ),
    Endpoint("defaults", "POST", lambda r: "/api/v1/service-defaults", None, 200, ADMIN, True),
    Endpoint("preview", "GET", _preview, None, 200, ADMIN, False),
    Endpoint("policies", "GET", lambda r: "/api/v1/sla-policies", None, 200, ADMIN, False),
    Endpoint(
        "policy-show",
        "GET",
        lambda r: f"/api/v1/sla-policies/{r.policy.pk}",
        None,
        200,
        ADMIN,
        False,
    ),
    Endpoint(
        "policy-add",
        "POST",
        lambda r: "/api/v1/sla-policies",
        lambda r, o: {
            "name": "售后低优先级",
            "category_id": r.category.pk,
            "priority": "low",
            "response_minutes": 480,
            "resolution_minutes": 4320,
        },
        201,
        ADMIN,
        True,
    ),
    Endpoint(
        "policy-edit",
        "PATCH",
        lambda r: f"/api/v1/sla-policies/{r.policy.pk}",
        lambda r, o: {"version": r.policy.version, "warn_percent": 60},
        200,
        ADMIN,
        True,
    ),
    Endpoint(
        "policy-remove",
        "DELETE",
        lambda r: f"/api/v1/sla-policies/{r.policy.pk}",
        None,
        204,
        ADMIN,
        True,
    ),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_setup_endpoint_permissions(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    recs = records(org)
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(recs)
    body = endpoint.body(recs, org) if endpoint.body else None
    before = db_state()
    # when
    response = client.request(endpoint.method, path, json=body)
    # then
    if actor == "anonymous":
        expected = 401
    elif endpoint.who == EVERYONE or actor == "administrator":
        expected = endpoint.ok
    else:
        expected = 403
    assert response.status_code == expected, (endpoint.name, actor, response.content)
    if expected >= 400:
        assert set(response.json()) >= {"message", "code", "fields"}
        if expected == 403:
            assert response.json()["code"] == "permission_denied"
    if expected >= 400 or not endpoint.writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_roles_matrix_covers_every_role(org: Org) -> None:
    assert set(ROLES) - {"outsider"} == set(org.by_role())
