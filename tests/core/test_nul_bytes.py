"""A NUL character in any text input is refused with a translated 400 and changes nothing."""

from __future__ import annotations

import pytest

from guanxi.accounts.models import Department
from tests.conftest import ApiClient, login_client

pytestmark = pytest.mark.django_db


def test_api_json_body_with_nul_is_refused_and_nothing_is_written(org):
    # given an administrator's API client
    api = ApiClient(org.admin)
    before = Department.all_objects.count()

    # when a department name carries an escaped NUL
    response = api.post("/api/v1/departments", {"name": "a\u0000b", "code": "nul-test"})

    # then it is a 400 in the error contract and no department was created
    assert response.status_code == 400
    assert set(response.json()) == {"message", "code", "fields"}
    assert Department.all_objects.count() == before


def test_query_parameter_with_nul_is_refused_on_the_api(org):
    response = ApiClient(org.admin).get("/api/v1/users", q="a\x00b")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_form_field_with_nul_is_refused_on_a_page_and_nothing_is_written(org):
    # given an administrator in the browser
    client = login_client(org.admin)
    before = Department.all_objects.count()

    # when the new-department form is posted with a NUL in the name
    response = client.post("/accounts/departments/new/", {"name": "a\x00b", "code": "nul-form"})

    # then our 400 page explains it, in the user's language, and nothing was created
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert Department.all_objects.count() == before


def test_huge_actor_id_filter_matches_nothing_instead_of_crashing(org):
    api = ApiClient(org.admin)
    response = api.get("/api/v1/audit", actor_id=str(2**70))
    assert response.status_code == 200
    assert response.json()["items"] == []
    page = login_client(org.admin).get("/audit/", {"actor": str(2**70)})
    assert page.status_code == 200
