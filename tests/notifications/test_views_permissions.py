"""Permission matrix of every notifications page: anonymous, the seven roles and an outsider.

Records: a notification of the rep and one of the other rep; the rep's personal robot; a robot
of 销售部 set up by the sales manager (rep, other rep and key-account manager are below it).
A notification is only ever its recipient's (404 for everyone else, administrators included);
a personal robot only its owner's; a department robot is changed by its manager and
administrators and seen read-only by the department's members. A denied request changes
nothing; an allowed write changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils.translation import gettext_noop

from guanxi.notifications.services import notify
from tests.conftest import Org, login_client
from tests.notifications.conftest import db_state, each_actor, make_robot

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
    mine: Any  # the rep's notification
    theirs: Any  # the other rep's
    personal: Any  # the rep's robot
    team: Any  # 销售部's robot


def _records(org: Org, base: str) -> Records:
    message = gettext_noop("%(name)s was moved to the recycle bin.")
    (mine,) = notify(
        recipients=[org.rep],
        kind="test_due",
        message=message,
        params={"name": "a"},
        url="/customers/",
    )
    (theirs,) = notify(
        recipients=[org.other_rep], kind="test_due", message=message, params={"name": "b"}
    )
    return Records(
        mine=mine,
        theirs=theirs,
        personal=make_robot(org.rep, url=f"{base}/robot/send?access_token=personal0123456"),
        team=make_robot(
            org.manager,
            department=org.sales,
            name="销售群",
            url=f"{base}/robot/send?access_token=team0123456789",
        ),
    )


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Org, Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool | frozenset[str]  # or the actors for whom an allowed request writes


EVERYONE = dict.fromkeys(ROLES, 200)
ONLY_REP = {**dict.fromkeys(ROLES, 404), "sales_rep": 302}
ONLY_REP_READ = {**dict.fromkeys(ROLES, 404), "sales_rep": 200}
# 销售部's robot: its manager and administrators write it; its members read it.
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


def _personal_robot(org: Org, records: Records) -> dict[str, Any]:
    return {
        "name": "我的群",
        "provider": "wecom",
        "owner": "self",
        "is_active": "on",
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef0123456789",
    }


def _team_robot(org: Org, records: Records) -> dict[str, Any]:
    return {**_personal_robot(org, records), "owner": str(org.east.pk)}


def _edit(robot_attr: str) -> Callable[[Org, Records], dict[str, Any]]:
    def data(org: Org, records: Records) -> dict[str, Any]:
        robot = getattr(records, robot_attr)
        return {"name": robot.name + "（改）", "is_active": "on", "version": robot.version}

    return data


def _preferences(org: Org, records: Records) -> dict[str, Any]:
    return {"test_due-in_app": "on", "test_due-email": "on"}


CASES = [
    Case("list", "GET", lambda r: "/notifications/", None, EVERYONE, False),
    Case("list-all", "GET", lambda r: "/notifications/?show=all", None, EVERYONE, False),
    Case("bell", "GET", lambda r: "/notifications/bell/", None, EVERYONE, False),
    Case("read", "POST", lambda r: f"/notifications/{r.mine.pk}/read/", None, ONLY_REP, True),
    Case("open", "POST", lambda r: f"/notifications/{r.mine.pk}/open/", None, ONLY_REP, True),
    Case(
        "read-all",
        "POST",
        lambda r: "/notifications/read-all/",
        None,
        dict.fromkeys(ROLES, 302),
        frozenset({"sales_rep"}),
    ),
    Case("preferences-get", "GET", lambda r: "/notifications/preferences/", None, EVERYONE, False),
    Case(
        "preferences",
        "POST",
        lambda r: "/notifications/preferences/",
        _preferences,
        dict.fromkeys(ROLES, 302),
        True,
    ),
    Case("robots", "GET", lambda r: "/notifications/robots/", None, EVERYONE, False),
    Case("robot-create-get", "GET", lambda r: "/notifications/robots/new/", None, EVERYONE, False),
    Case(
        "robot-create-personal",
        "POST",
        lambda r: "/notifications/robots/new/",
        _personal_robot,
        dict.fromkeys(ROLES, 302),
        True,
    ),
    # A department is offered to its managers and administrators only: for the rest the choice
    # is not valid (400, nothing saved).
    Case(
        "robot-create-team",
        "POST",
        lambda r: "/notifications/robots/new/",
        _team_robot,
        {**dict.fromkeys(ROLES, 400), "administrator": 302, "sales_manager": 302},
        True,
    ),
    Case(
        "personal-get",
        "GET",
        lambda r: f"/notifications/robots/{r.personal.pk}/",
        None,
        ONLY_REP_READ,
        False,
    ),
    Case(
        "personal-edit",
        "POST",
        lambda r: f"/notifications/robots/{r.personal.pk}/",
        _edit("personal"),
        ONLY_REP,
        True,
    ),
    Case(
        "personal-delete",
        "POST",
        lambda r: f"/notifications/robots/{r.personal.pk}/delete/",
        None,
        ONLY_REP,
        True,
    ),
    Case(
        "personal-test",
        "POST",
        lambda r: f"/notifications/robots/{r.personal.pk}/test/",
        None,
        ONLY_REP,
        False,
    ),
    Case(
        "team-get", "GET", lambda r: f"/notifications/robots/{r.team.pk}/", None, TEAM_READ, False
    ),
    Case(
        "team-edit",
        "POST",
        lambda r: f"/notifications/robots/{r.team.pk}/",
        _edit("team"),
        _team_write(302),
        True,
    ),
    Case(
        "team-delete",
        "POST",
        lambda r: f"/notifications/robots/{r.team.pk}/delete/",
        None,
        _team_write(302),
        True,
    ),
    Case(
        "team-test",
        "POST",
        lambda r: f"/notifications/robots/{r.team.pk}/test/",
        None,
        _team_write(302),
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_notification_page_permissions(org: Org, provider: Any, case: Case) -> None:
    records = _records(org, provider.base)

    def check(actor: str, user: Any) -> None:
        # given
        client = Client() if user is None else login_client(user)
        path = case.path(records)
        data = case.data(org, records) if case.data else None
        before = db_state()
        sent = len(provider.received)
        # when
        response = client.get(path) if case.method == "GET" else client.post(path, data or {})
        # then
        if actor == "anonymous" and case.name == "bell":
            # an expired session: nothing for HTMX to swap in, rather than the login page
            assert response.status_code == 204
            return
        if actor == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=")
            assert db_state() == before
            return
        expected = case.expected[actor]
        assert response.status_code == expected, (case.name, actor)
        writes = case.writes if isinstance(case.writes, bool) else actor in case.writes
        if expected >= 400 or not writes:
            assert db_state() == before, (case.name, actor)
        else:
            assert db_state() != before, (case.name, actor)
        if case.name.endswith("-test"):
            # a test message leaves only for those allowed to send it
            assert len(provider.received) == sent + (1 if expected == 302 else 0)

    each_actor(org, ACTORS, check)


def test_unknown_ids_are_404(org: Org) -> None:
    client = login_client(org.admin)
    assert client.post("/notifications/999999/read/").status_code == 404
    assert client.get("/notifications/robots/999999/").status_code == 404
