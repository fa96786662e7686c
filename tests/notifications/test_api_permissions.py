"""Permission matrix of every notifications endpoint: anonymous, the seven roles and an
outsider, with the records of the page matrix. A denied request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ApiClient, Org
from tests.notifications.conftest import db_state, each_actor
from tests.notifications.test_views_permissions import ACTORS, ROLES, Records, _records

pytestmark = pytest.mark.django_db


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Org, Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool | frozenset[str]


EVERYONE = dict.fromkeys(ROLES, 200)
ONLY_REP = {**dict.fromkeys(ROLES, 404), "sales_rep": 200}
TEAM_READ = {
    **dict.fromkeys(ROLES, 404),
    "administrator": 200,
    "sales_manager": 200,
    "sales_rep": 200,
    "key_account_manager": 200,
}


def _team_write(ok: int) -> dict[str, int]:
    return {
        **TEAM_READ,
        "administrator": ok,
        "sales_manager": ok,
        "sales_rep": 403,
        "key_account_manager": 403,
    }


def _new_robot(department: str | None) -> Callable[[Org, Records], dict[str, Any]]:
    def data(org: Org, records: Records) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": "新群",
            "provider": "wecom",
            "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef0123456789",
        }
        if department:
            body["department_id"] = getattr(org, department).pk
        return body

    return data


def _patch(robot_attr: str) -> Callable[[Org, Records], dict[str, Any]]:
    def data(org: Org, records: Records) -> dict[str, Any]:
        robot = getattr(records, robot_attr)
        return {"version": robot.version, "name": "改名"}

    return data


CASES = [
    Case("list", "GET", lambda r: "/api/v1/notifications", None, EVERYONE, False),
    Case(
        "unread-count", "GET", lambda r: "/api/v1/notifications/unread-count", None, EVERYONE, False
    ),
    Case("read", "POST", lambda r: f"/api/v1/notifications/{r.mine.pk}/read", None, ONLY_REP, True),
    Case(
        "read-all",
        "POST",
        lambda r: "/api/v1/notifications/read-all",
        None,
        EVERYONE,
        frozenset({"sales_rep"}),
    ),
    Case("preferences", "GET", lambda r: "/api/v1/notification-preferences", None, EVERYONE, False),
    Case(
        "preference-set",
        "PUT",
        lambda r: "/api/v1/notification-preferences/test_due",
        lambda o, r: {"in_app": True, "email": True, "robot": False},
        EVERYONE,
        True,
    ),
    Case("robots", "GET", lambda r: "/api/v1/notification-robots", None, EVERYONE, False),
    Case(
        "robot-create-personal",
        "POST",
        lambda r: "/api/v1/notification-robots",
        _new_robot(None),
        dict.fromkeys(ROLES, 201),
        True,
    ),
    Case(
        "robot-create-team",
        "POST",
        lambda r: "/api/v1/notification-robots",
        _new_robot("east"),
        {**dict.fromkeys(ROLES, 403), "administrator": 201, "sales_manager": 201},
        True,
    ),
    Case(
        "personal-get",
        "GET",
        lambda r: f"/api/v1/notification-robots/{r.personal.pk}",
        None,
        ONLY_REP,
        False,
    ),
    Case(
        "personal-patch",
        "PATCH",
        lambda r: f"/api/v1/notification-robots/{r.personal.pk}",
        _patch("personal"),
        ONLY_REP,
        True,
    ),
    Case(
        "personal-delete",
        "DELETE",
        lambda r: f"/api/v1/notification-robots/{r.personal.pk}",
        None,
        {**ONLY_REP, "sales_rep": 204},
        True,
    ),
    Case(
        "personal-test",
        "POST",
        lambda r: f"/api/v1/notification-robots/{r.personal.pk}/test",
        None,
        {**ONLY_REP, "sales_rep": 204},
        False,
    ),
    Case(
        "team-get",
        "GET",
        lambda r: f"/api/v1/notification-robots/{r.team.pk}",
        None,
        TEAM_READ,
        False,
    ),
    Case(
        "team-patch",
        "PATCH",
        lambda r: f"/api/v1/notification-robots/{r.team.pk}",
        _patch("team"),
        _team_write(200),
        True,
    ),
    Case(
        "team-delete",
        "DELETE",
        lambda r: f"/api/v1/notification-robots/{r.team.pk}",
        None,
        _team_write(204),
        True,
    ),
    Case(
        "team-test",
        "POST",
        lambda r: f"/api/v1/notification-robots/{r.team.pk}/test",
        None,
        _team_write(204),
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_notification_api_permissions(org: Org, provider: Any, case: Case) -> None:
    records = _records(org, provider.base)

    def check(actor: str, user: Any) -> None:
        client = ApiClient(user)
        data = case.data(org, records) if case.data else None
        before = db_state()
        sent = len(provider.received)
        response = client.request(case.method, case.path(records), json=data)
        if actor == "anonymous":
            assert response.status_code == 401
            assert response.json()["code"] == "not_authenticated"
            assert db_state() == before
            return
        expected = case.expected[actor]
        assert response.status_code == expected, (case.name, actor, response.content)
        if expected >= 400:
            assert set(response.json()) >= {"message", "code", "fields"}
        writes = case.writes if isinstance(case.writes, bool) else actor in case.writes
        if expected >= 400 or not writes:
            assert db_state() == before, (case.name, actor)
        else:
            assert db_state() != before, (case.name, actor)
        if case.name.endswith("-test"):
            assert len(provider.received) == sent + (1 if expected == 204 else 0)

    each_actor(org, ACTORS, check)
