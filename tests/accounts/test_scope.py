"""Data scope on the user lists (HTML and API): who sees which colleagues."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.selectors import user_list
from guanxi.accounts.services import role_setting_update
from tests.conftest import ApiClient, Org, login_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SALES_SUBTREE = {"manager", "rep1", "rep2", "kam"}
EVERYBODY = {"admin", "manager", "rep1", "rep2", "kam", "agent", "handler", "analyst", "outsider"}


def api_usernames(user: User) -> set[str]:
    body = ApiClient(user).get("/api/v1/users", limit=200).json()
    return {item["username"] for item in body["items"]}


def html_usernames(user: User) -> set[str]:
    response = login_client(user).get("/accounts/users/")
    assert response.status_code == 200
    return {u.username for u in response.context["page"].items}


def test_administrator_sees_everyone(org: Org) -> None:
    assert api_usernames(org.admin) == EVERYBODY
    assert html_usernames(org.admin) == EVERYBODY


def test_analyst_with_scope_all_sees_everyone(org: Org) -> None:
    assert api_usernames(org.analyst) == EVERYBODY
    assert html_usernames(org.analyst) == EVERYBODY


def test_sales_manager_sees_the_sales_subtree_only(org: Org) -> None:
    # given the manager of 销售部 (scope "department and below")
    # when they list users, then they see 销售部, 华东组 and 华北组, nobody from 总部 or 海外部
    assert api_usernames(org.manager) == SALES_SUBTREE
    assert html_usernames(org.manager) == SALES_SUBTREE


def test_sales_manager_sees_a_new_member_of_a_sub_sub_department(org: Org) -> None:
    # given a team two levels below sales, with a member
    from tests.factories import DepartmentFactory

    shanghai = DepartmentFactory(name="上海小组", code="shanghai", parent=org.east)
    UserFactory(username="rep3", department=shanghai)
    # then the manager sees them, the outsider's branch still does not show
    assert api_usernames(org.manager) == SALES_SUBTREE | {"rep3"}


@pytest.mark.parametrize(
    "role", ["sales_rep", "key_account_manager", "service_agent", "department_handler"]
)
def test_roles_without_team_view_see_only_themselves_in_the_api(org: Org, role: str) -> None:
    user = org.by_role()[role]
    assert api_usernames(user) == {user.username}


@pytest.mark.parametrize(
    "role", ["sales_rep", "key_account_manager", "service_agent", "department_handler"]
)
def test_roles_without_team_view_get_403_on_the_users_page(org: Org, role: str) -> None:
    response = login_client(org.by_role()[role]).get("/accounts/users/")
    assert response.status_code == 403


def test_narrowing_the_manager_role_scope_to_own_department_hides_the_sub_teams(org: Org) -> None:
    # given the manager sees the subtree
    assert api_usernames(org.manager) == SALES_SUBTREE
    # when an administrator narrows the sales manager role to "own department"
    role_setting_update(
        actor=org.admin, role=Role.SALES_MANAGER, data_scope="department", require_otp=False
    )
    # then only members of 销售部 itself remain (the reps of 华东组 and 华北组 disappear)
    assert api_usernames(org.manager) == {"manager", "kam"}
    assert html_usernames(org.manager) == {"manager", "kam"}


def test_scope_self_leaves_a_team_viewer_with_only_themself(org: Org) -> None:
    role_setting_update(
        actor=org.admin, role=Role.SALES_MANAGER, data_scope="self", require_otp=False
    )
    assert api_usernames(org.manager) == {"manager"}
    assert html_usernames(org.manager) == {"manager"}


def test_widening_the_manager_scope_to_all_shows_everyone(org: Org) -> None:
    role_setting_update(
        actor=org.admin, role=Role.SALES_MANAGER, data_scope="all", require_otp=False
    )
    assert api_usernames(org.manager) == EVERYBODY


def test_analyst_narrowed_to_own_department_sees_headquarters_only(org: Org) -> None:
    # given the analyst sits in 总部 together with the administrator
    role_setting_update(
        actor=org.admin, role=Role.ANALYST, data_scope="department", require_otp=False
    )
    assert api_usernames(org.analyst) == {"analyst", "admin"}


def test_scope_applies_to_user_detail_as_well(org: Org) -> None:
    # given the manager cannot see the outsider
    client = ApiClient(org.manager)
    # when / then
    assert client.get(f"/api/v1/users/{org.outsider.pk}").status_code == 404
    assert client.get(f"/api/v1/users/{org.rep.pk}").status_code == 200


def test_department_filter_cannot_widen_the_scope(org: Org) -> None:
    # given the manager filters by a department outside their subtree
    body = ApiClient(org.manager).get("/api/v1/users", department_id=org.hq.pk).json()
    # then the subtree rule still applies
    assert {i["username"] for i in body["items"]} == SALES_SUBTREE


def test_department_filter_includes_sub_departments(org: Org) -> None:
    body = ApiClient(org.admin).get("/api/v1/users", department_id=org.sales.pk).json()
    assert {i["username"] for i in body["items"]} == SALES_SUBTREE


def test_unknown_department_filter_returns_nobody(org: Org) -> None:
    body = ApiClient(org.admin).get("/api/v1/users", department_id=999999).json()
    assert body["items"] == []


def test_user_list_filters_by_text_role_and_status(org: Org) -> None:
    UserFactory(username="retired", full_name="退休的人", is_active=False, department=org.east)
    assert {u.username for u in user_list(actor=org.admin, query="rep")} == {"rep1", "rep2"}
    assert {u.username for u in user_list(actor=org.admin, query="退休")} == {"retired"}
    assert {u.username for u in user_list(actor=org.admin, role=Role.SERVICE_AGENT)} == {"agent"}
    assert {u.username for u in user_list(actor=org.admin, active=False)} == {"retired"}


def test_users_page_filters_and_renders_the_htmx_fragment(org: Org) -> None:
    client = login_client(org.admin)
    # when the HTMX search asks for a fragment
    response = client.get("/accounts/users/", {"q": "rep", "active": "all"}, HTTP_HX_REQUEST="true")
    # then only the results table comes back, filtered
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "rep1" in html and "rep2" in html and "analyst" not in html


def test_api_user_list_pages_with_a_cursor(org: Org) -> None:
    client = ApiClient(org.admin)
    first = client.get("/api/v1/users", limit=4).json()
    second = client.get("/api/v1/users", limit=4, cursor=first["next_cursor"]).json()
    third = client.get("/api/v1/users", limit=4, cursor=second["next_cursor"]).json()
    names = [i["username"] for page in (first, second, third) for i in page["items"]]
    assert names == sorted(EVERYBODY)
    assert third["next_cursor"] is None


def test_deactivated_viewer_sees_nobody(org: Org) -> None:
    org.manager.is_active = False
    org.manager.save()
    assert not user_list(actor=org.manager).exists()


def test_users_page_query_count_does_not_grow_with_users(org: Org) -> None:
    # given the page rendered once
    client = login_client(org.admin)
    with CaptureQueriesContext(connection) as small:
        client.get("/accounts/users/")
    # when there are many more users with departments and managers
    for n in range(15):
        UserFactory(username=f"extra{n}", department=org.east, manager=org.manager)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/accounts/users/")
    # then the number of queries stays the same
    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(re.findall(r"extra\d+", response.content.decode())) >= 15
