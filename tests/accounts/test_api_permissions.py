"""Permission matrix of every accounts API endpoint: anonymous, each role and an outsider.

Anonymous calls get 401 with the error contract; a denied call changes nothing; an allowed
write changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.accounts.roles import Role
from guanxi.accounts.services import token_create
from tests.accounts.conftest import db_state, make_totp_device
from tests.conftest import ApiClient, Org
from tests.factories import DepartmentFactory, UserFactory

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


def actor_for(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    if key == "outsider":
        return org.outsider
    return org.by_role()[key]


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Org], str]
    body: Callable[[Org], Any] | None
    allowed: dict[str, int]
    denied: dict[str, int]
    writes: bool


EVERYONE_200 = dict.fromkeys(ROLES, 200)
# Roles that cannot see other_rep (a sales rep in 华北组) at all.
UNRELATED = ("sales_rep", "key_account_manager", "service_agent", "department_handler", "outsider")
ADMIN_DENIED = {k: 403 for k in ROLES if k != "administrator"}
# other_rep (in the sales subtree) is visible to the manager and the analyst, invisible to the rest.
USER_WRITE_DENIED = {
    "sales_manager": 403,
    "analyst": 403,
    "sales_rep": 404,
    "key_account_manager": 404,
    "service_agent": 404,
    "department_handler": 404,
    "outsider": 404,
}


def _others_token(org: Org) -> int:
    token, _raw = token_create(actor=org.other_rep, user=org.other_rep, name="rep2 script")
    return token.pk


def _with_device(org: Org) -> int:
    make_totp_device(org.other_rep)
    return org.other_rep.pk


def _inactive_in_north(org: Org) -> int:
    return UserFactory(
        username="gone", role=Role.SALES_REP, department=org.north, is_active=False
    ).pk


ENDPOINTS = [
    Endpoint("me", "GET", lambda o: "/api/v1/me", None, EVERYONE_200, {}, False),
    Endpoint("token-list", "GET", lambda o: "/api/v1/tokens", None, EVERYONE_200, {}, False),
    Endpoint(
        "token-create",
        "POST",
        lambda o: "/api/v1/tokens",
        lambda o: {"name": "ci"},
        dict.fromkeys(ROLES, 201),
        {},
        True,
    ),
    Endpoint(
        "token-revoke-others",
        "DELETE",
        lambda o: f"/api/v1/tokens/{_others_token(o)}",
        None,
        {"administrator": 204},
        {k: 404 for k in ROLES if k != "administrator"},
        True,
    ),
    Endpoint("user-list", "GET", lambda o: "/api/v1/users", None, EVERYONE_200, {}, False),
    Endpoint(
        "user-detail",
        "GET",
        lambda o: f"/api/v1/users/{o.other_rep.pk}",
        None,
        {"administrator": 200, "sales_manager": 200, "analyst": 200},
        dict.fromkeys(UNRELATED, 404),
        False,
    ),
    Endpoint(
        "user-create",
        "POST",
        lambda o: "/api/v1/users",
        lambda o: {
            "username": "newbie",
            "password": "a-long-unusual-passphrase-42",
            "email": "newbie@example.com",
            "role": "sales_rep",
            "department_id": o.east.pk,
        },
        {"administrator": 201},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "user-edit",
        "PATCH",
        lambda o: f"/api/v1/users/{o.other_rep.pk}",
        lambda o: {"version": o.other_rep.version, "full_name": "改名"},
        {"administrator": 200},
        USER_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "user-deactivate",
        "POST",
        lambda o: f"/api/v1/users/{o.other_rep.pk}/deactivate",
        lambda o: {},
        {"administrator": 200},
        USER_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "user-reactivate",
        "POST",
        lambda o: f"/api/v1/users/{_inactive_in_north(o)}/reactivate",
        lambda o: {},
        {"administrator": 200},
        USER_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "user-password-reset",
        "POST",
        lambda o: f"/api/v1/users/{o.other_rep.pk}/password",
        lambda o: {"password": "a-long-unusual-passphrase-42"},
        {"administrator": 200},
        USER_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "user-otp-reset",
        "POST",
        lambda o: f"/api/v1/users/{_with_device(o)}/otp-reset",
        lambda o: {},
        {"administrator": 200},
        USER_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "department-list", "GET", lambda o: "/api/v1/departments", None, EVERYONE_200, {}, False
    ),
    Endpoint(
        "department-create",
        "POST",
        lambda o: "/api/v1/departments",
        lambda o: {"name": "西南组", "code": "southwest", "parent_id": o.sales.pk},
        {"administrator": 201},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "department-edit",
        "PATCH",
        lambda o: f"/api/v1/departments/{o.north.pk}",
        lambda o: {"version": o.north.version, "name": "华北大区"},
        {"administrator": 200},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "department-delete",
        "DELETE",
        lambda o: f"/api/v1/departments/{DepartmentFactory(code='empty', parent=o.hq).pk}",
        None,
        {"administrator": 204},
        ADMIN_DENIED,
        True,
    ),
    Endpoint(
        "role-list",
        "GET",
        lambda o: "/api/v1/roles",
        None,
        {"administrator": 200},
        ADMIN_DENIED,
        False,
    ),
    Endpoint(
        "role-edit",
        "PUT",
        lambda o: "/api/v1/roles/sales_rep",
        lambda o: {"data_scope": "department", "require_otp": False},
        {"administrator": 200},
        ADMIN_DENIED,
        True,
    ),
]

MATRIX = [pytest.param(e, a, id=f"{e.name}-{a}") for e in ENDPOINTS for a in ACTORS]


def _call(client: ApiClient, method: str, path: str, body: Any) -> Any:
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    return client.request(method, path, json=body if body is not None else {})


@pytest.mark.parametrize(("endpoint", "actor"), MATRIX)
def test_accounts_api_permission_matrix(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(org)
    body = endpoint.body(org) if endpoint.body else None
    before = db_state()

    # when
    response = _call(client, endpoint.method, path, body)

    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json() == {
            "message": response.json()["message"],
            "code": "not_authenticated",
            "fields": {},
        }
        assert response.json()["message"]
        assert db_state() == before
    elif actor in endpoint.allowed:
        assert response.status_code == endpoint.allowed[actor], response.content[:500]
        if endpoint.writes:
            assert db_state() != before
    else:
        assert response.status_code == endpoint.denied[actor], response.content[:500]
        body = response.json()
        assert set(body) == {"message", "code", "fields"}
        assert body["code"] == {403: "permission_denied", 404: "not_found"}[response.status_code]
        assert db_state() == before


def test_every_accounts_endpoint_is_in_the_matrix() -> None:
    # given every operation of the accounts routers
    from guanxi.accounts.api import auth_router, router

    operations = {
        (method, path)
        for r in (router,)
        for path, view in r.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    covered = {
        ("GET", "/me"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("DELETE", "/tokens/{token_id}"),
        ("GET", "/users"),
        ("GET", "/users/{user_id}"),
        ("POST", "/users"),
        ("PATCH", "/users/{user_id}"),
        ("POST", "/users/{user_id}/deactivate"),
        ("POST", "/users/{user_id}/reactivate"),
        ("POST", "/users/{user_id}/password"),
        ("POST", "/users/{user_id}/otp-reset"),
        ("GET", "/departments"),
        ("POST", "/departments"),
        ("PATCH", "/departments/{department_id}"),
        ("DELETE", "/departments/{department_id}"),
        ("GET", "/roles"),
        ("PUT", "/roles/{role}"),
    }
    # then the matrix above names each of them (the token endpoint has its own tests)
    assert operations == covered
    assert set(auth_router.path_operations) == {"/token"}
    assert len(ENDPOINTS) == len(covered)


@pytest.mark.parametrize(
    "header",
    ["Bearer gx_not-a-real-token", "Bearer ", "Token whatever", "gx_nobearer"],
)
def test_bad_credentials_are_401_with_the_error_contract(org: Org, header: str) -> None:
    # given a client with a made-up or malformed credential
    client = ApiClient(None)
    client.headers["Authorization"] = header
    # when
    response = client.get("/api/v1/me")
    # then
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert set(response.json()) == {"message", "code", "fields"}
    assert response["WWW-Authenticate"] == "Bearer"


def test_me_returns_the_token_owner(org: Org) -> None:
    # given
    client = ApiClient(org.manager)
    # when
    body = client.get("/api/v1/me").json()
    # then
    assert body["username"] == "manager"
    assert body["role"] == "sales_manager"
    assert body["data_scope"] == "subtree"
    assert body["department"] == {"id": org.sales.pk, "name": org.sales.name}
