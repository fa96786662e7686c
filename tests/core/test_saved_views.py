"""Saved views: a user's named filter sets for a list, in pages and the API. Private to their
owner; they keep only the list's filter and sort parameters, never a cursor."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.core.models import SavedView
from guanxi.core.saved_views import SAVED_VIEWS_PER_LIST, saved_view_query_clean
from guanxi.core.services import saved_view_create
from tests.conftest import ApiClient, Org, login_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def test_only_the_lists_own_parameters_are_kept_and_in_a_stable_order() -> None:
    query = "tag=3&cursor=abc&q=%E5%8D%8E%E4%B8%BA&evil=1&lifecycle=&sort=name"
    assert saved_view_query_clean("customers", query) == "q=%E5%8D%8E%E4%B8%BA&sort=name&tag=3"


def test_saving_under_an_existing_name_replaces_its_filters(org: Org) -> None:
    first = saved_view_create(actor=org.rep, list_name="customers", name="华东", query="q=a")
    second = saved_view_create(actor=org.rep, list_name="customers", name="华东", query="q=b")
    assert first.pk == second.pk
    assert SavedView.objects.get().query == "q=b"


@pytest.mark.parametrize(
    ("name", "list_name", "field"),
    [("", "customers", "name"), ("x" * 51, "customers", "name"), ("ok", "nothing", "list_name")],
)
def test_bad_input_is_a_field_error_and_saves_nothing(
    org: Org, name: str, list_name: str, field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        saved_view_create(actor=org.rep, list_name=list_name, name=name, query="q=a")
    assert field in error.value.message_dict
    assert not SavedView.objects.exists()


def test_there_is_a_limit_per_list(org: Org) -> None:
    for n in range(SAVED_VIEWS_PER_LIST):
        saved_view_create(actor=org.rep, list_name="customers", name=f"v{n}", query="")
    with pytest.raises(ValidationError):
        saved_view_create(actor=org.rep, list_name="customers", name="one more", query="")
    # Another user's views do not count against this one's.
    saved_view_create(actor=org.other_rep, list_name="customers", name="mine", query="")


def test_a_view_is_saved_from_the_list_and_shown_there(org: Org) -> None:
    client = login_client(org.rep)
    response = client.post(
        "/saved-views/customers/", {"name": "我的意向客户", "query": "lifecycle=intent&cursor=x"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/customers/?lifecycle=intent"
    page = client.get("/customers/").content.decode()
    assert "我的意向客户" in page
    assert 'href="/customers/?lifecycle=intent"' in page
    # Nobody else sees it.
    assert "我的意向客户" not in login_client(org.other_rep).get("/customers/").content.decode()


def test_a_bad_name_from_the_page_is_a_message_and_saves_nothing(org: Org) -> None:
    response = login_client(org.rep).post(
        "/saved-views/customers/",
        {"name": " ", "query": "q=a"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "Give the view a name." in response.content.decode()
    assert not SavedView.objects.exists()


def test_an_unknown_list_is_404(org: Org) -> None:
    assert login_client(org.rep).post("/saved-views/nothing/", {"name": "x"}).status_code == 404


def test_views_are_deleted_by_their_owner_only(org: Org) -> None:
    view = saved_view_create(actor=org.rep, list_name="customers", name="华东", query="q=a")
    assert login_client(org.admin).post(f"/saved-views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    assert login_client(org.rep).post(f"/saved-views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_saved_view_pages_need_a_sign_in_and_a_post(org: Org) -> None:
    view = saved_view_create(actor=org.rep, list_name="customers", name="华东", query="q=a")
    from django.test import Client

    for path in ("/saved-views/customers/", f"/saved-views/{view.pk}/delete/"):
        response = Client().post(path, {"name": "x"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        assert login_client(org.rep).get(path).status_code == 405
    assert SavedView.objects.count() == 1


@pytest.mark.parametrize("role", ["administrator", "sales_rep", "analyst", "service_agent"])
def test_the_api_lists_adds_and_deletes_your_own_views(org: Org, role: str) -> None:
    user = org.by_role()[role]
    other = saved_view_create(actor=org.other_rep, list_name="customers", name="别人", query="")
    api = ApiClient(user)
    created = api.post(
        "/api/v1/saved-views",
        {"list_name": "customers", "name": "重点", "query": "account_class=strategic&x=1"},
    )
    assert created.status_code == 201, created.content
    assert created.json()["query"] == "account_class=strategic"
    listed = api.get("/api/v1/saved-views", list_name="customers").json()
    assert [v["name"] for v in listed] == ["重点"]
    assert api.delete(f"/api/v1/saved-views/{other.pk}").status_code == 404
    assert api.delete(f"/api/v1/saved-views/{created.json()['id']}").status_code == 204
    assert list(SavedView.objects.values_list("name", flat=True)) == ["别人"]


def test_the_api_refuses_bad_input_with_the_error_contract(org: Org) -> None:
    api = ApiClient(org.rep)
    response = api.post("/api/v1/saved-views", {"list_name": "customers", "name": ""})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"message", "code", "fields"} and "name" in body["fields"]
    assert ApiClient(None).get("/api/v1/saved-views").status_code == 401
    assert not SavedView.objects.exists()
