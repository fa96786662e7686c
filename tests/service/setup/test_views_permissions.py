"""Permission matrix of every set-up page: anonymous, each of the seven roles and an outsider.
Only administrators open or change the set-up; everyone else gets 403 and changes nothing; an
allowed write changes something."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.conftest import Org, login_client
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


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records, Org], dict[str, Any]] | None
    ok: int
    writes: bool


def _admin_only(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "administrator": ok}


def _team_edit(r: Records, o: Org) -> dict[str, Any]:
    return {
        "version": r.team.version,
        "lead": o.handler.pk,
        "members": [o.agent.pk, o.handler.pk],
        "assignment_mode": "round_robin",
        "work_start": "08:30",
        "work_end": "17:30",
        "time_zone": "Asia/Shanghai",
    }


def _rule_edit(r: Records, o: Org) -> dict[str, Any]:
    return {
        "version": r.rule.version,
        "position": 5,
        "category": r.category.pk,
        "priority": "urgent",
        "province_code": "440000",
        "team": r.team.pk,
        "active": "on",
    }


def _policy_edit(r: Records, o: Org) -> dict[str, Any]:
    return {
        "version": r.policy.version,
        "name": r.policy.name,
        "response_minutes": 600,
        "resolution_minutes": 2880,
        "clock": "24x7",
        "warn_percent": 70,
        "active": "on",
    }


def _tester(r: Records) -> str:
    customer = make_customer(None, "测试客户")
    return (
        f"/service/setup/routing/test/?category={r.category.pk}&priority=normal"
        f"&customer={customer.pk}"
    )


CASES = [
    Case("setup", "GET", lambda r: "/service/setup/", None, 200, False),
    Case("categories", "GET", lambda r: "/service/setup/categories/", None, 200, False),
    Case("teams", "GET", lambda r: "/service/setup/teams/", None, 200, False),
    Case("routing", "GET", lambda r: "/service/setup/routing/", None, 200, False),
    Case("sla", "GET", lambda r: "/service/setup/sla/", None, 200, False),
    Case("tester", "GET", _tester, None, 200, False),
    Case("category-new", "GET", lambda r: "/service/setup/categories/new/", None, 200, False),
    Case(
        "category-create",
        "POST",
        lambda r: "/service/setup/categories/new/",
        lambda r, o: {"name": "安装", "code": "installation", "position": 9, "active": "on"},
        302,
        True,
    ),
    Case(
        "category-edit-get",
        "GET",
        lambda r: f"/service/setup/categories/{r.spare.pk}/edit/",
        None,
        200,
        False,
    ),
    Case(
        "category-edit",
        "POST",
        lambda r: f"/service/setup/categories/{r.spare.pk}/edit/",
        lambda r, o: {"version": r.spare.version, "name": "其它", "code": "other", "position": 1},
        302,
        True,
    ),
    Case(
        "category-delete",
        "POST",
        lambda r: f"/service/setup/categories/{r.spare.pk}/delete/",
        lambda r, o: {},
        302,
        True,
    ),
    Case("team-new", "GET", lambda r: "/service/setup/teams/new/", None, 200, False),
    Case(
        "team-create",
        "POST",
        lambda r: "/service/setup/teams/new/",
        lambda r, o: {
            "department": o.hq.pk,
            "assignment_mode": "least_loaded",
            "work_start": "09:00",
            "work_end": "18:00",
            "time_zone": "Asia/Shanghai",
        },
        302,
        True,
    ),
    Case(
        "team-edit-get",
        "GET",
        lambda r: f"/service/setup/teams/{r.team.pk}/edit/",
        None,
        200,
        False,
    ),
    Case(
        "team-edit",
        "POST",
        lambda r: f"/service/setup/teams/{r.team.pk}/edit/",
        _team_edit,
        302,
        True,
    ),
    Case(
        # refused by the service (its rule), shown on the page; the matrix checks access
        "team-delete",
        "POST",
        lambda r: f"/service/setup/teams/{r.team.pk}/delete/",
        lambda r, o: {},
        302,
        False,
    ),
    Case("rule-new", "GET", lambda r: "/service/setup/routing/new/", None, 200, False),
    Case(
        "rule-create",
        "POST",
        lambda r: "/service/setup/routing/new/",
        lambda r, o: {
            "position": 50,
            "category": r.spare.pk,
            "team": r.team.pk,
            "assignee": o.agent.pk,
            "active": "on",
        },
        302,
        True,
    ),
    Case(
        "rule-edit-get",
        "GET",
        lambda r: f"/service/setup/routing/{r.rule.pk}/edit/",
        None,
        200,
        False,
    ),
    Case(
        "rule-edit",
        "POST",
        lambda r: f"/service/setup/routing/{r.rule.pk}/edit/",
        _rule_edit,
        302,
        True,
    ),
    Case(
        "rule-delete",
        "POST",
        lambda r: f"/service/setup/routing/{r.rule.pk}/delete/",
        lambda r, o: {},
        302,
        True,
    ),
    Case(
        "defaults",
        "POST",
        lambda r: "/service/setup/routing/defaults/",
        lambda r, o: {},
        302,
        True,
    ),
    Case("policy-new", "GET", lambda r: "/service/setup/sla/new/", None, 200, False),
    Case(
        "policy-create",
        "POST",
        lambda r: "/service/setup/sla/new/",
        lambda r, o: {
            "name": "售后低优先级",
            "category": r.category.pk,
            "priority": "low",
            "response_minutes": 480,
            "resolution_minutes": 4320,
            "clock": "working_hours",
            "warn_percent": 80,
            "active": "on",
        },
        302,
        True,
    ),
    Case(
        "policy-edit-get",
        "GET",
        lambda r: f"/service/setup/sla/{r.policy.pk}/edit/",
        None,
        200,
        False,
    ),
    Case(
        "policy-edit",
        "POST",
        lambda r: f"/service/setup/sla/{r.policy.pk}/edit/",
        _policy_edit,
        302,
        True,
    ),
    Case(
        "policy-delete",
        "POST",
        lambda r: f"/service/setup/sla/{r.policy.pk}/delete/",
        lambda r, o: {},
        302,
        True,
    ),
]


def _client(org: Org, key: str) -> Client:
    user = actor_for(org, key)
    return Client() if user is None else login_client(user)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_setup_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    recs = records(org)
    client = _client(org, actor)
    path = case.path(recs)
    data = case.data(recs, org) if case.data else None
    before = db_state()
    # when
    response = client.get(path) if case.method == "GET" else client.post(path, data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    expected = _admin_only(case.ok)[actor]
    assert response.status_code == expected, (case.name, actor, getattr(response, "context", None))
    if expected >= 400 or not case.writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_a_refused_delete_says_why_and_changes_nothing(org: Org) -> None:
    recs = records(org)
    client = login_client(org.admin, language="en")
    before = db_state()
    response = client.post(f"/service/setup/teams/{recs.team.pk}/delete/", follow=True)
    assert db_state() == before
    assert "routing rules send tickets to this team" in response.content.decode()
