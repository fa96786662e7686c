"""The users and departments lists: query counts independent of the number of rows, keyset
pagination of the HTML users list, and its HTMX partials."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import role_setting_update
from tests.conftest import ApiClient, Org, login_client
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def _add_users(org: Org, count: int, start: int = 0) -> None:
    User.objects.bulk_create(
        [
            User(
                username=f"bulk{start + n:04d}",
                role=[Role.SALES_REP, Role.SERVICE_AGENT, Role.ANALYST][n % 3],
                department=org.east,
                manager=org.manager,
            )
            for n in range(count)
        ]
    )


def _queries(call: Any) -> list[str]:
    with CaptureQueriesContext(connection) as context:
        response = call()
    assert response.status_code == 200
    return [q["sql"] for q in context.captured_queries]


# --- Query counts -------------------------------------------------------------------------------
# Pinned: a new query per row (or per page) shows up here. The counts include authentication
# (token or session + user), the RoleSetting rows, and the data itself; the API rate limiter's
# cache-table queries are left out (core's concern, and they depend on the cache's state).
USERS_API_QUERIES = 3
USERS_PAGE_QUERIES = 5
DEPARTMENTS_PAGE_QUERIES = 4


def _app_queries(call: Any) -> int:
    # The API rate limit's counter (core_ratewindow) is core's concern too: one upsert a request.
    return sum(
        "guanxi_cache" not in sql
        and "core_ratewindow" not in sql
        and "SAVEPOINT" not in sql.upper()
        for sql in _queries(call)
    )


def test_users_api_query_count_does_not_grow_with_the_rows(org: Org) -> None:
    # given role settings saved for some roles and not others
    role_setting_update(actor=org.admin, role=Role.SALES_REP, data_scope="self", require_otp=False)
    client = ApiClient(org.admin)
    client.get("/api/v1/users")  # the token's last-use stamp is written once a minute
    _add_users(org, 5)
    # when / then
    assert _app_queries(lambda: client.get("/api/v1/users", limit=100)) == USERS_API_QUERIES
    _add_users(org, 40, start=100)
    assert _app_queries(lambda: client.get("/api/v1/users", limit=100)) == USERS_API_QUERIES
    # and each user's data scope is right, saved setting or default
    items = client.get("/api/v1/users", limit=100).json()["items"]
    assert len(items) == 9 + 45
    scopes = {u["username"]: u["data_scope"] for u in items}
    assert scopes["rep1"] == "self" and scopes["bulk0001"] == "department"
    assert scopes["analyst"] == "all" and scopes["manager"] == "subtree"


def test_users_page_query_count_does_not_grow_with_the_rows(
    org: Org, django_assert_num_queries: Any
) -> None:
    client = login_client(org.admin)
    _add_users(org, 5)
    with django_assert_num_queries(USERS_PAGE_QUERIES):
        client.get("/accounts/users/")
    _add_users(org, 40, start=100)
    with django_assert_num_queries(USERS_PAGE_QUERIES):
        response = client.get("/accounts/users/")
    assert len(response.context["page"].items) == 50


def test_departments_page_query_count_does_not_grow_with_the_rows(
    org: Org, django_assert_num_queries: Any
) -> None:
    client = login_client(org.manager)
    with django_assert_num_queries(DEPARTMENTS_PAGE_QUERIES):
        client.get("/accounts/departments/")
    for n in range(10):
        DepartmentFactory(code=f"more-{n}", parent=org.east)
    _add_users(org, 20)
    with django_assert_num_queries(DEPARTMENTS_PAGE_QUERIES):
        response = client.get("/accounts/departments/")
    assert len(response.context["departments"]) == 16


def test_the_second_factor_check_costs_no_extra_query_per_request(org: Org) -> None:
    # given a user whose page needs their role setting anyway
    client = login_client(org.rep)
    # when they open it
    queries = _queries(lambda: client.get("/accounts/profile/"))
    # then the role setting is read once, shared by SecondFactorMiddleware and the view
    assert sum("accounts_rolesetting" in sql for sql in queries) == 1


# --- Pagination ---------------------------------------------------------------------------------
def test_users_page_shows_fifty_and_a_link_to_more(org: Org) -> None:
    # given 60 more users (69 in all)
    _add_users(org, 60)
    client = login_client(org.admin)
    # when
    response = client.get("/accounts/users/", {"q": "bulk"})
    # then 50 rows and a "More" link that works with and without HTMX
    page = response.context["page"]
    assert len(page.items) == 50 and page.next_cursor
    body = response.content.decode()
    assert 'id="user-more"' in body
    assert f'href="?q=bulk&amp;cursor={page.next_cursor}"' in body
    assert f'hx-get="?q=bulk&amp;cursor={page.next_cursor}"' in body
    # when following it with HTMX, only the next rows come back
    more = client.get(
        "/accounts/users/", {"q": "bulk", "cursor": page.next_cursor}, HTTP_HX_REQUEST="true"
    )
    rows = more.content.decode()
    assert "<table" not in rows and "<html" not in rows
    assert rows.count("<tr>") == 10
    assert "bulk0050" in rows and "bulk0059" in rows and "bulk0049" not in rows
    assert 'id="user-more"' not in rows


def test_users_page_filter_over_htmx_returns_the_table(org: Org) -> None:
    response = login_client(org.admin).get("/accounts/users/", {"q": "rep"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<table" in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_users_page_history_restore_gets_the_whole_page(org: Org) -> None:
    response = login_client(org.admin).get(
        "/accounts/users/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_users_page_with_a_bad_cursor_starts_again(org: Org) -> None:
    response = login_client(org.admin).get(
        "/accounts/users/", {"cursor": "garbage"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response.context["cursor_error"]
    assert response.context["page"].items[0].username == "admin"
