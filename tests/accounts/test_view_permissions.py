"""Permission matrix of every accounts HTML view: anonymous, each role and an outsider.

A denied request must change nothing; an allowed write must change something (so the matrix
cannot pass by accident when a write silently does nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guanxi.accounts.roles import Role
from tests.accounts.conftest import db_state, make_totp_device
from tests.conftest import Org, login_client
from tests.factories import PASSWORD, DepartmentFactory, UserFactory

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


def client_for(org: Org, key: str) -> Client:
    user = actor_for(org, key)
    return Client() if user is None else login_client(user)


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Org], str]
    data: Callable[[Org], dict[str, Any]] | None
    allowed: dict[str, int]  # actor -> status when allowed; everyone else is denied
    denied: dict[str, int]  # actor -> status when denied (anonymous is always a login redirect)
    writes: bool


def _inactive_in_north(org: Org) -> Any:
    return UserFactory(username="gone", role=Role.SALES_REP, department=org.north, is_active=False)


def _with_device(org: Org) -> int:
    make_totp_device(org.other_rep)
    return org.other_rep.pk


def _user_data(org: Org) -> dict[str, Any]:
    return {
        "username": "newbie",
        "full_name": "新同事",
        "email": "newbie@example.com",
        "role": Role.SALES_REP,
        "department": org.east.pk,
        "password": "a-long-unusual-passphrase-42",
    }


def _edit_data(org: Org) -> dict[str, Any]:
    return {
        "username": org.other_rep.username,
        "full_name": "改过的名字",
        "email": org.other_rep.email,
        "role": Role.SALES_REP,
        "department": org.north.pk,
        "version": org.other_rep.version,
    }


EVERYONE = dict.fromkeys(ROLES, 200)
TEAM_VIEWERS = {"administrator": 200, "sales_manager": 200, "analyst": 200}
ADMIN_ONLY_DENIED = {k: 403 for k in ROLES if k != "administrator"}
# other_rep sits in the sales subtree: the manager and the analyst (scope "all") can see them but
# not change them; everyone else cannot see them at all.
USER_WRITE_DENIED = {
    "sales_manager": 403,
    "analyst": 403,
    "sales_rep": 404,
    "key_account_manager": 404,
    "service_agent": 404,
    "department_handler": 404,
    "outsider": 404,
}

CASES = [
    Case("profile", "GET", lambda o: "/accounts/profile/", None, EVERYONE, {}, False),
    Case(
        "password-change",
        "POST",
        lambda o: "/accounts/profile/password/",
        lambda o: {
            "current_password": PASSWORD,
            "new_password": "another-long-passphrase-77",
            "new_password_again": "another-long-passphrase-77",
        },
        dict.fromkeys(ROLES, 302),
        {},
        True,
    ),
    Case(
        "token-create",
        "POST",
        lambda o: "/accounts/profile/tokens/",
        lambda o: {"name": "laptop"},
        EVERYONE,
        {},
        True,
    ),
    Case(
        "session-end-others",
        "POST",
        lambda o: "/accounts/profile/sessions/end-others/",
        lambda o: {},
        dict.fromkeys(ROLES, 302),
        {},
        False,
    ),
    # Opening the set-up page writes nothing; pressing "Start" makes the pending device.
    Case(
        "otp-setup-get", "GET", lambda o: "/accounts/profile/two-factor/", None, EVERYONE, {}, False
    ),
    Case(
        "otp-setup",
        "POST",
        lambda o: "/accounts/profile/two-factor/",
        lambda o: {"action": "start"},
        dict.fromkeys(ROLES, 302),
        {},
        True,
    ),
    Case(
        "otp-disable",
        "POST",
        lambda o: "/accounts/profile/two-factor/disable/",
        lambda o: {"otp_disable-current_password": PASSWORD},
        dict.fromkeys(ROLES, 302),
        {},
        False,
    ),
    Case(
        "user-list",
        "GET",
        lambda o: "/accounts/users/",
        None,
        TEAM_VIEWERS,
        {k: 403 for k in ROLES if k not in TEAM_VIEWERS},
        False,
    ),
    Case(
        "user-create-get",
        "GET",
        lambda o: "/accounts/users/new/",
        None,
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        False,
    ),
    Case(
        "user-create",
        "POST",
        lambda o: "/accounts/users/new/",
        _user_data,
        {"administrator": 302},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Case(
        "user-edit-get",
        "GET",
        lambda o: f"/accounts/users/{o.other_rep.pk}/",
        None,
        {"administrator": 200},
        USER_WRITE_DENIED,
        False,
    ),
    Case(
        "user-edit",
        "POST",
        lambda o: f"/accounts/users/{o.other_rep.pk}/",
        _edit_data,
        {"administrator": 302},
        USER_WRITE_DENIED,
        True,
    ),
    Case(
        "user-deactivate",
        "POST",
        lambda o: f"/accounts/users/{o.other_rep.pk}/deactivate/",
        lambda o: {},
        {"administrator": 302},
        USER_WRITE_DENIED,
        True,
    ),
    Case(
        "user-reactivate",
        "POST",
        lambda o: f"/accounts/users/{_inactive_in_north(o).pk}/reactivate/",
        lambda o: {},
        {"administrator": 302},
        USER_WRITE_DENIED,
        True,
    ),
    Case(
        "user-password-reset",
        "POST",
        lambda o: f"/accounts/users/{o.other_rep.pk}/password/",
        lambda o: {
            "reset-new_password": "a-long-unusual-passphrase-42",
            "reset-new_password_again": "a-long-unusual-passphrase-42",
        },
        {"administrator": 302},
        USER_WRITE_DENIED,
        True,
    ),
    Case(
        "user-otp-reset",
        "POST",
        lambda o: f"/accounts/users/{_with_device(o)}/otp-reset/",
        lambda o: {},
        {"administrator": 302},
        USER_WRITE_DENIED,
        True,
    ),
    Case("department-list", "GET", lambda o: "/accounts/departments/", None, EVERYONE, {}, False),
    Case(
        "department-create-get",
        "GET",
        lambda o: "/accounts/departments/new/",
        None,
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        False,
    ),
    Case(
        "department-create",
        "POST",
        lambda o: "/accounts/departments/new/",
        lambda o: {"name": "西南组", "code": "southwest", "parent": o.sales.pk},
        {"administrator": 302},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Case(
        "department-edit-get",
        "GET",
        lambda o: f"/accounts/departments/{o.north.pk}/",
        None,
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        False,
    ),
    Case(
        "department-edit",
        "POST",
        lambda o: f"/accounts/departments/{o.north.pk}/",
        lambda o: {
            "name": "华北大区",
            "code": "north",
            "parent": o.sales.pk,
            "version": o.north.version,
        },
        {"administrator": 302},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Case(
        "department-delete",
        "POST",
        lambda o: (
            f"/accounts/departments/{DepartmentFactory(code='empty', parent=o.hq).pk}/delete/"
        ),
        lambda o: {},
        {"administrator": 302},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Case(
        "role-list-get",
        "GET",
        lambda o: "/accounts/roles/",
        None,
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        False,
    ),
    Case(
        "role-list",
        "POST",
        lambda o: "/accounts/roles/",
        lambda o: {"role": "sales_rep", "sales_rep-data_scope": "department"},
        {"administrator": 302},
        ADMIN_ONLY_DENIED,
        True,
    ),
]

MATRIX = [
    pytest.param(case, actor, id=f"{case.name}-{actor}") for case in CASES for actor in ACTORS
]


def _send(client: Client, case: Case, org: Org, path: str) -> Any:
    if case.method == "GET":
        return client.get(path)
    return client.post(path, case.data(org) if case.data else {})


@pytest.mark.parametrize(("case", "actor"), MATRIX)
def test_accounts_view_permission_matrix(org: Org, case: Case, actor: str) -> None:
    # given
    client = client_for(org, actor)
    path = case.path(org)  # builds any target row before the snapshot
    before = db_state()

    # when
    response = _send(client, case, org, path)

    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
    elif actor in case.allowed:
        assert response.status_code == case.allowed[actor], response.content[:500]
        if case.writes:
            assert db_state() != before
    else:
        assert response.status_code == case.denied[actor]
        assert db_state() == before


def test_every_accounts_url_is_in_the_matrix() -> None:
    # given the URL names of the accounts app
    from guanxi.accounts.urls import urlpatterns

    names = {p.name for p in urlpatterns}
    covered = {c.name.removesuffix("-get") for c in CASES} | {
        "login",
        "login-verify",
        "logout",
        "language",
        "token-revoke",  # their own tests below
    }
    # then none is forgotten
    assert names - covered == set()


@pytest.mark.parametrize("actor", ACTORS)
def test_token_revoke_of_someone_elses_token(org: Org, actor: str) -> None:
    # given a token of rep2, and a client for each actor
    from guanxi.accounts.models import ApiToken
    from guanxi.accounts.services import token_create

    token, _raw = token_create(actor=org.other_rep, user=org.other_rep, name="rep2 laptop")
    client = client_for(org, actor)
    before = db_state()

    # when the actor tries to revoke it
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")

    # then only an administrator may; the others do not even learn it exists
    token = ApiToken.objects.get(pk=token.pk)
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    elif actor == "administrator":
        assert response.status_code == 302
        assert token.revoked_at is not None
        return
    else:
        assert response.status_code == 404
    assert token.revoked_at is None
    assert db_state() == before


@pytest.mark.parametrize("actor", ROLES)
def test_token_revoke_of_own_token(org: Org, actor: str) -> None:
    # given
    from guanxi.accounts.services import token_create

    user = actor_for(org, actor)
    token, _raw = token_create(actor=user, user=user, name="mine")
    client = login_client(user)

    # when
    response = client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")

    # then
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/profile/password/",
        "/accounts/profile/tokens/",
        "/accounts/profile/sessions/end-others/",
        "/accounts/profile/two-factor/disable/",
        "/accounts/users/1/password/",
        "/accounts/users/1/otp-reset/",
        "/accounts/logout/",
        "/accounts/language/",
    ],
)
def test_post_only_views_refuse_get(org: Org, path: str) -> None:
    # given a signed-in user
    client = login_client(org.admin)
    before = db_state()
    # when they GET a POST-only URL
    response = client.get(path)
    # then
    assert response.status_code == 405
    assert db_state() == before
