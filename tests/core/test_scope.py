"""Data scope (core/scope.py): self / department / department and below / all, for the org
fixture's users, with accounts.User as the scoped model (owner_field="pk")."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from guanxi.accounts.models import Department, RoleSetting, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import department_create, role_setting_update
from guanxi.core.scope import DataScope, scope_q
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def visible(user) -> set[str]:
    query = scope_q(user, owner_field="pk", department_field="department")
    return set(User.objects.filter(query).values_list("username", flat=True))


def everyone() -> set[str]:
    return set(User.objects.values_list("username", flat=True))


def test_rep_sees_only_themself(org):
    assert org.rep.data_scope == DataScope.SELF
    assert visible(org.rep) == {"rep1"}


def test_key_account_manager_sees_only_themself_by_default(org):
    assert visible(org.kam) == {"kam"}


def test_service_agent_sees_their_own_department_only(org):
    # agent and handler are both in the service centre; nobody else is
    assert org.agent.data_scope == DataScope.DEPARTMENT
    assert visible(org.agent) == {"agent", "handler"}
    assert visible(org.handler) == {"agent", "handler"}


def test_manager_sees_their_department_and_everything_below(org):
    assert org.manager.data_scope == DataScope.SUBTREE
    assert visible(org.manager) == {"manager", "kam", "rep1", "rep2"}


def test_subtree_reaches_any_depth(org):
    team = department_create(actor=org.admin, name="华东一队", code="east-1", parent=org.east)
    squad = department_create(actor=org.admin, name="华东一队一组", code="east-1-a", parent=team)
    UserFactory(username="deep", department=squad)
    assert "deep" in visible(org.manager)
    assert "deep" not in visible(org.agent)
    assert "deep" not in visible(org.rep)


def test_subtree_does_not_match_a_sibling_whose_path_merely_starts_alike(org):
    # given a department whose path is the manager's path with extra digits, not a child of it
    lookalike = department_create(actor=org.admin, name="相似路径", code="lookalike", parent=org.hq)
    Department.all_objects.filter(pk=lookalike.pk).update(path=org.sales.path[:-1] + "9/")
    UserFactory(username="lookalike-user", department=lookalike)
    # then
    assert "lookalike-user" not in visible(org.manager)


def test_administrator_and_analyst_see_everyone(org):
    assert visible(org.admin) == everyone()
    assert visible(org.analyst) == everyone()


def test_inactive_and_anonymous_users_see_nothing(org):
    org.manager.is_active = False
    org.manager.save(update_fields=["is_active"])
    assert visible(org.manager) == set()
    assert visible(AnonymousUser()) == set()
    assert visible(None) == set()


def test_administrator_can_change_a_roles_scope(org):
    # given the administrator widens sales reps to their own department
    role_setting_update(
        actor=org.admin, role=Role.SALES_REP, data_scope=DataScope.DEPARTMENT, require_otp=False
    )
    rep = User.objects.get(pk=org.rep.pk)  # role settings are read per user object
    # then a rep in the east team sees the east team, not the north team
    UserFactory(username="east-colleague", role=Role.SALES_REP, department=org.east)
    assert visible(rep) == {"rep1", "east-colleague"}


def test_department_scope_without_a_department_falls_back_to_self(org):
    loner = UserFactory(username="loner", role=Role.SERVICE_AGENT, department=None)
    assert visible(loner) == {"loner"}


def test_unknown_scope_value_shows_no_more_than_own_records(org):
    RoleSetting.objects.update_or_create(
        role=Role.SALES_MANAGER, defaults={"data_scope": "everything-please"}
    )
    manager = User.objects.get(pk=org.manager.pk)
    assert visible(manager) == {"manager"}


def test_models_without_an_owner_or_department_field(org):
    # a department list scoped by department only: the manager sees the sales subtree
    query = scope_q(org.manager, owner_field=None, department_field=None)
    assert not User.objects.filter(query).exists()
    query = scope_q(org.admin, owner_field=None, department_field=None)
    assert User.objects.filter(query).count() == len(everyone())
