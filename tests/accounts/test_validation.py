"""Bad input gets a clear error and changes nothing: users, departments, roles, versions."""

from __future__ import annotations

from typing import Any

import pytest

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.accounts.services import department_update, user_update
from tests.accounts.conftest import db_state, in_language
from tests.conftest import ApiClient, Org, login_client

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "a-long-unusual-passphrase-42"


def form_user(**changes: Any) -> dict[str, Any]:
    data = {
        "username": "newbie",
        "full_name": "新同事",
        "email": "newbie@example.com",
        "role": Role.SALES_REP,
        "password": GOOD_PASSWORD,
    }
    data.update(changes)
    return data


def api_user(**changes: Any) -> dict[str, Any]:
    data = {
        "username": "newbie",
        "email": "newbie@example.com",
        "role": "sales_rep",
        "password": GOOD_PASSWORD,
    }
    data.update(changes)
    return data


BAD_USERS = [
    pytest.param({"username": "rep1"}, "username", id="duplicate-username"),
    pytest.param({"username": "has space"}, "username", id="invalid-username"),
    pytest.param({"password": "12345678"}, "password", id="weak-password"),
    pytest.param({"password": "newbie@example.com"}, "password", id="password-like-email"),
    pytest.param({"email": "not-an-email"}, "email", id="bad-email"),
    pytest.param({"role": "emperor"}, "role", id="unknown-role"),
    pytest.param({"language": "klingon"}, "language", id="unknown-language"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_USERS)
def test_user_create_form_shows_the_error_inline_and_creates_nothing(
    org: Org, changes: dict[str, Any], field: str
) -> None:
    # given
    client = login_client(org.admin)
    before = db_state()
    # when
    response = client.post("/accounts/users/new/", form_user(**changes), HTTP_ACCEPT_LANGUAGE="en")
    # then the form comes back with the error next to the field
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert db_state() == before


@pytest.mark.parametrize(("changes", "field"), BAD_USERS)
def test_user_create_api_answers_422_naming_the_field_and_creates_nothing(
    org: Org, changes: dict[str, Any], field: str
) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.post("/api/v1/users", api_user(**changes))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body) == {"message", "code", "fields"}
    assert field in body["fields"] and body["fields"][field]
    assert db_state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"department_id": 999999}, "department_id"),
        ({"manager_id": 999999}, "manager_id"),
        ({"username": "x" * 151}, "username"),
        ({"role": 5}, "role"),
    ],
)
def test_user_create_api_refuses_bad_references_and_shapes(
    org: Org, payload: dict, field: str
) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.post("/api/v1/users", api_user(**payload))
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert db_state() == before


def test_user_create_api_refuses_a_deactivated_manager(org: Org) -> None:
    org.manager.is_active = False
    org.manager.save()
    client = ApiClient(org.admin)
    before = db_state()
    response = client.post("/api/v1/users", api_user(manager_id=org.manager.pk))
    assert response.status_code == 422
    assert "manager_id" in response.json()["fields"]
    assert db_state() == before


def test_duplicate_username_differing_only_in_case_is_refused(org: Org) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.post("/api/v1/users", api_user(username="REP1"))
    assert response.status_code == 422
    assert "username" in response.json()["fields"]
    assert db_state() == before


def test_error_messages_come_in_the_requested_language(org: Org) -> None:
    client = ApiClient(org.admin)
    client.headers["Accept-Language"] = "zh-CN"
    body = client.post("/api/v1/users", api_user(email="not-an-email")).json()
    assert body["message"] == in_language("zh-hans", "Some fields are not valid.")
    assert body["message"] != "Some fields are not valid."


def test_valid_user_create_through_the_form_works(org: Org) -> None:
    client = login_client(org.admin)
    response = client.post(
        "/accounts/users/new/", form_user(department=org.east.pk, manager=org.manager.pk)
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.department == org.east and user.manager == org.manager
    assert user.check_password(GOOD_PASSWORD)


def test_user_created_without_a_password_cannot_sign_in(org: Org) -> None:
    response = ApiClient(org.admin).post("/api/v1/users", api_user(password=None))
    assert response.status_code == 201
    assert not User.objects.get(username="newbie").has_usable_password()


# --- Editing users ------------------------------------------------------------------------------
def test_api_patch_with_a_stale_version_is_409_and_saves_nothing(org: Org) -> None:
    # given the administrator read rep2 at version 1, then someone else saved
    client = ApiClient(org.admin)
    read = client.get(f"/api/v1/users/{org.other_rep.pk}").json()
    user_update(actor=org.manager, user=org.other_rep, data={"full_name": "别人改的"})
    before = db_state()
    # when the administrator saves with the version they read
    response = client.patch(
        f"/api/v1/users/{org.other_rep.pk}", {"version": read["version"], "full_name": "我改的"}
    )
    # then the answer names the conflict, and nothing of theirs is saved
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["conflicts"] == {"full_name": {"yours": "我改的", "theirs": "别人改的"}}
    assert body["current_version"] == read["version"] + 1
    assert db_state() == before


def test_api_patch_with_the_current_version_saves_and_bumps_it(org: Org) -> None:
    client = ApiClient(org.admin)
    response = client.patch(
        f"/api/v1/users/{org.other_rep.pk}",
        {"version": org.other_rep.version, "full_name": "新名字", "department_id": org.east.pk},
    )
    assert response.status_code == 200
    assert response.json()["version"] == org.other_rep.version + 1
    rep2 = User.objects.get(pk=org.other_rep.pk)
    assert rep2.full_name == "新名字" and rep2.department == org.east


def test_api_patch_requires_a_version(org: Org) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.patch(f"/api/v1/users/{org.other_rep.pk}", {"full_name": "x"})
    assert response.status_code == 422
    assert "version" in response.json()["fields"]
    assert db_state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"role": "emperor"}, "role"),
        ({"role": None}, "role"),
        ({"department_id": 999999}, "department_id"),
        ({"language": "xx"}, "language"),
    ],
)
def test_api_patch_refuses_bad_values(org: Org, payload: dict, field: str) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.patch(f"/api/v1/users/{org.other_rep.pk}", {"version": 1, **payload})
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert db_state() == before


def test_nobody_can_change_their_own_role(org: Org) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.patch(f"/api/v1/users/{org.admin.pk}", {"version": 1, "role": "sales_rep"})
    assert response.status_code == 422
    assert "role" in response.json()["fields"]
    assert db_state() == before


def test_a_user_cannot_be_their_own_manager(org: Org) -> None:
    client = ApiClient(org.admin)
    before = db_state()
    response = client.patch(f"/api/v1/users/{org.rep.pk}", {"version": 1, "manager_id": org.rep.pk})
    assert response.status_code == 422
    assert "manager_id" in response.json()["fields"]
    assert db_state() == before


def test_html_edit_with_a_stale_version_shows_the_conflict_and_saves_nothing(org: Org) -> None:
    # given the administrator opened the edit form at version 1
    client = login_client(org.admin)
    page = client.get(f"/accounts/users/{org.other_rep.pk}/")
    version = page.context["form"].initial["version"]
    # and someone else saved meanwhile
    user_update(actor=org.manager, user=org.other_rep, data={"full_name": "别人改的"})
    before = db_state()
    # when the administrator posts their form
    response = client.post(
        f"/accounts/users/{org.other_rep.pk}/",
        {
            "username": "rep2",
            "full_name": "我改的",
            "email": org.other_rep.email,
            "role": Role.SALES_REP,
            "department": org.north.pk,
            "version": version,
        },
    )
    # then the page shows both values and saves nothing
    assert response.status_code == 409
    assert response.context["conflict"] == {"full_name": {"yours": "我改的", "theirs": "别人改的"}}
    html = response.content.decode()
    assert 'data-testid="conflict"' in html and "别人改的" in html and "我改的" in html
    assert db_state() == before


def test_html_edit_with_bad_input_shows_the_error_and_saves_nothing(org: Org) -> None:
    client = login_client(org.admin)
    before = db_state()
    response = client.post(
        f"/accounts/users/{org.other_rep.pk}/",
        {"username": "rep2", "email": "nope", "role": Role.SALES_REP, "version": 1},
    )
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert db_state() == before


def test_html_edit_cannot_rename_the_username(org: Org) -> None:
    client = login_client(org.admin)
    response = client.post(
        f"/accounts/users/{org.other_rep.pk}/",
        {"username": "hijack", "email": org.other_rep.email, "role": Role.SALES_REP, "version": 1},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=org.other_rep.pk).username == "rep2"


def test_user_update_service_refuses_fields_it_does_not_own(org: Org) -> None:
    from guanxi.core.exceptions import ApplicationError

    before = db_state()
    with pytest.raises(ApplicationError):
        user_update(actor=org.admin, user=org.rep, data={"is_superuser": True})
    assert db_state() == before


def test_edits_are_audited_field_by_field(org: Org) -> None:
    from guanxi.core.models import AuditEntry

    user_update(
        actor=org.admin, user=org.rep, data={"full_name": "新名", "role": Role.KEY_ACCOUNT_MANAGER}
    )
    entry = AuditEntry.objects.filter(object_type="accounts.user", action="update").first()
    assert entry.actor_id == org.admin.pk
    assert entry.changes["full_name"]["after"] == "新名"
    assert entry.changes["role"] == {"before": "sales_rep", "after": "key_account_manager"}


# --- Departments --------------------------------------------------------------------------------
def test_department_create_with_a_duplicate_code_is_refused(org: Org) -> None:
    before = db_state()
    api = ApiClient(org.admin)
    before = db_state()
    response = api.post("/api/v1/departments", {"name": "又一个销售部", "code": "sales"})
    assert response.status_code == 422
    assert "code" in response.json()["fields"]
    assert db_state() == before
    page = login_client(org.admin).post(
        "/accounts/departments/new/", {"name": "又一个销售部", "code": "sales"}
    )
    assert page.status_code == 400
    assert "code" in page.context["form"].errors
    assert db_state() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "code": "has space"}, "code"),
        ({"name": "", "code": "ok"}, "name"),
        ({"name": "x", "code": "ok", "parent_id": 999999}, "parent_id"),
        ({"code": "ok"}, "name"),
    ],
)
def test_department_create_api_refuses_bad_input(org: Org, payload: dict, field: str) -> None:
    api = ApiClient(org.admin)
    before = db_state()
    response = api.post("/api/v1/departments", payload)
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert db_state() == before


def test_moving_a_department_under_its_own_child_is_refused(org: Org) -> None:
    api = ApiClient(org.admin)
    before = db_state()
    # by API
    response = api.patch(
        f"/api/v1/departments/{org.sales.pk}",
        {"version": org.sales.version, "parent_id": org.east.pk},
    )
    assert response.status_code == 422
    assert "parent_id" in response.json()["fields"]
    assert db_state() == before
    # under itself
    response = api.patch(
        f"/api/v1/departments/{org.sales.pk}",
        {"version": org.sales.version, "parent_id": org.sales.pk},
    )
    assert response.status_code == 422
    assert db_state() == before
    # by the form (the child is not even offered)
    page = login_client(org.admin).post(
        f"/accounts/departments/{org.sales.pk}/",
        {"name": "销售部", "code": "sales", "parent": org.east.pk, "version": org.sales.version},
    )
    assert page.status_code == 400
    assert "parent" in page.context["form"].errors
    assert db_state() == before


def test_department_edit_with_a_stale_version_is_a_conflict(org: Org) -> None:
    department_update(actor=org.admin, department=org.north, data={"name": "华北一部"})
    before = db_state()
    api = ApiClient(org.admin)
    before = db_state()
    response = api.patch(f"/api/v1/departments/{org.north.pk}", {"version": 1, "name": "华北二部"})
    assert response.status_code == 409
    assert response.json()["conflicts"] == {"name": {"yours": "华北二部", "theirs": "华北一部"}}
    page = login_client(org.admin).post(
        f"/accounts/departments/{org.north.pk}/",
        {"name": "华北三部", "code": "north", "parent": org.sales.pk, "version": 1},
    )
    assert page.status_code == 409
    assert db_state() == before
    assert Department.objects.get(pk=org.north.pk).name == "华北一部"


@pytest.mark.parametrize("channel", ["api", "html"])
def test_deleting_a_department_with_active_members_is_refused(org: Org, channel: str) -> None:
    # 华东组 has rep1 as an active member
    api = ApiClient(org.admin)
    before = db_state()
    if channel == "api":
        response = api.delete(f"/api/v1/departments/{org.east.pk}")
        assert response.status_code == 400
        assert response.json()["code"] == "department_has_members"
    else:
        response = login_client(org.admin).post(
            f"/accounts/departments/{org.east.pk}/delete/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert (
            "Move the active members of this department elsewhere before deleting it."
            in response.content.decode()
        )
    assert db_state() == before
    assert Department.objects.filter(pk=org.east.pk).exists()


@pytest.mark.parametrize("channel", ["api", "html"])
def test_deleting_a_department_with_sub_departments_is_refused(org: Org, channel: str) -> None:
    # 总部 has only sub-departments left as obstacle once its own members are moved away
    api = ApiClient(org.admin)
    hq_members = User.objects.filter(department=org.hq)
    hq_members.update(department=org.service)
    before = db_state()
    if channel == "api":
        response = api.delete(f"/api/v1/departments/{org.hq.pk}")
        assert response.status_code == 400
        assert response.json()["code"] == "department_has_children"
    else:
        response = login_client(org.admin).post(
            f"/accounts/departments/{org.hq.pk}/delete/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert "Delete or move the sub-departments first." in response.content.decode()
    assert db_state() == before


def test_a_department_with_only_deactivated_members_can_be_deleted(org: Org) -> None:
    User.objects.filter(department=org.north).update(is_active=False)
    response = ApiClient(org.admin).delete(f"/api/v1/departments/{org.north.pk}")
    assert response.status_code == 204


def test_role_setting_refuses_an_unknown_scope(org: Org) -> None:
    api = ApiClient(org.admin)
    before = db_state()
    response = api.put("/api/v1/roles/sales_rep", {"data_scope": "galaxy", "require_otp": False})
    assert response.status_code == 422
    assert "data_scope" in response.json()["fields"]
    assert db_state() == before


def test_role_setting_for_an_unknown_role_is_404(org: Org) -> None:
    api = ApiClient(org.admin)
    before = db_state()
    response = api.put("/api/v1/roles/emperor", {"data_scope": "all", "require_otp": False})
    assert response.status_code == 404
    assert db_state() == before


def test_role_page_refuses_an_unknown_scope(org: Org) -> None:
    client = login_client(org.admin)
    before = db_state()
    response = client.post(
        "/accounts/roles/", {"role": "sales_rep", "sales_rep-data_scope": "galaxy"}
    )
    assert response.status_code == 400
    assert db_state() == before


def test_role_page_saves_scope_and_second_factor(org: Org) -> None:
    client = login_client(org.admin)
    response = client.post(
        "/accounts/roles/",
        {
            "role": "service_agent",
            "service_agent-data_scope": "subtree",
            "service_agent-require_otp": "on",
        },
    )
    assert response.status_code == 302
    listed = {r["role"]: r for r in ApiClient(org.admin).get("/api/v1/roles").json()}
    assert listed["service_agent"]["data_scope"] == "subtree"
    assert listed["service_agent"]["require_otp"] is True
    assert listed["sales_rep"]["data_scope"] == "self"


def test_a_manager_cycle_through_reports_is_refused(org: Org) -> None:
    # given rep1 reports to the manager
    user_update(actor=org.admin, user=org.rep, data={"manager": org.manager})
    api = ApiClient(org.admin)
    before = db_state()
    # when someone tries to make rep1 the manager's manager
    response = api.patch(
        f"/api/v1/users/{org.manager.pk}", {"version": 1, "manager_id": org.rep.pk}
    )
    # then it is refused
    assert response.status_code == 422
    assert "manager_id" in response.json()["fields"]
    assert db_state() == before


def test_services_refuse_a_department_in_the_recycle_bin_and_an_inactive_manager(org: Org) -> None:
    from django.core.exceptions import ValidationError

    from guanxi.accounts.services import department_delete, user_create
    from tests.factories import DepartmentFactory

    empty = DepartmentFactory(code="temporary", parent=org.hq)
    department_delete(actor=org.admin, department=empty)
    empty.refresh_from_db()
    org.kam.is_active = False
    org.kam.save()
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        user_create(
            actor=org.admin,
            username="zhao",
            password=GOOD_PASSWORD,
            department=empty,
            manager=org.kam,
        )
    assert set(raised.value.message_dict) == {"department", "manager"}
    with pytest.raises(ValidationError) as raised:
        user_update(actor=org.admin, user=org.rep, data={"department": empty})
    assert set(raised.value.message_dict) == {"department"}
    assert db_state() == before


def test_login_form_enforces_csrf(org: Org) -> None:
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": "rep1", "password": "correct-horse-battery-9"}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_saving_an_unchanged_edit_form_writes_nothing(org: Org) -> None:
    client = login_client(org.admin)
    form = client.get(f"/accounts/users/{org.other_rep.pk}/").context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["department"] = org.north.pk
    before = db_state()
    response = client.post(f"/accounts/users/{org.other_rep.pk}/", data)
    assert response.status_code == 302
    assert db_state() == before


def test_role_page_lists_every_role_with_its_default_scope(org: Org) -> None:
    response = login_client(org.admin).get("/accounts/roles/")
    rows = {row["setting"].role: row["setting"].data_scope for row in response.context["rows"]}
    assert rows == {
        "administrator": "all",
        "sales_manager": "subtree",
        "sales_rep": "self",
        "key_account_manager": "self",
        "service_agent": "department",
        "department_handler": "department",
        "analyst": "all",
    }
