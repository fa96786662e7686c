"""Services own the reference checks (ids or rows); every write to a user bumps its version;
the session clean-up is a service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from guanxi.accounts import services
from guanxi.accounts.models import Department, LoginSession, User
from guanxi.accounts.services import (
    department_create,
    department_delete,
    department_update,
    user_create,
    user_deactivate,
    user_password_change,
    user_reactivate,
    user_update,
)
from tests.accounts.conftest import db_state
from tests.conftest import ApiClient, Org, login_client
from tests.factories import PASSWORD, DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


def _deleted_department(org: Org) -> Department:
    department = DepartmentFactory(code="gone", parent=org.hq)
    department_delete(actor=org.admin, department=department)
    return department


# --- References by id ---------------------------------------------------------------------------
def test_user_services_take_ids_and_check_them(org: Org) -> None:
    # given / when a user is created with ids
    user = user_create(
        actor=org.admin,
        username="newbie",
        password=None,
        department=org.east.pk,
        manager=org.manager.pk,
    )
    # then they are resolved
    assert (user.department, user.manager) == (org.east, org.manager)
    # and an update by id works too
    user = user_update(actor=org.admin, user=user, data={"department": org.north.pk})
    assert User.objects.get(pk=user.pk).department == org.north


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"department": 999999}, "department", "Select an existing department."),
        ({"department": "deleted"}, "department", "This department is in the recycle bin."),
        ({"manager": 999999}, "manager", "Select an active user."),
        ({"manager": "inactive"}, "manager", "Select an active user."),
    ],
)
def test_user_update_refuses_bad_references_given_by_id(
    org: Org, data: dict[str, Any], field: str, message: str
) -> None:
    # given
    if data.get("department") == "deleted":
        data = {"department": _deleted_department(org).pk}
    if data.get("manager") == "inactive":
        User.objects.filter(pk=org.kam.pk).update(is_active=False)
        data = {"manager": org.kam.pk}
    before = db_state()
    # when / then
    with pytest.raises(ValidationError) as error:
        user_update(actor=org.admin, user=org.other_rep, data=data)
    assert error.value.message_dict == {field: [message]}
    assert db_state() == before


def test_department_services_take_a_parent_id_and_check_it(org: Org) -> None:
    department = department_create(actor=org.admin, name="西南组", code="sw", parent=org.sales.pk)
    assert department.parent == org.sales
    with pytest.raises(ValidationError) as error:
        department_update(actor=org.admin, department=department, data={"parent": 999999})
    assert error.value.message_dict == {"parent": ["Select an existing department."]}


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "message"),
    [
        ("post", "/api/v1/users", {"username": "x1", "department_id": "deleted"}, "department_id",
         "This department is in the recycle bin."),
        ("post", "/api/v1/users", {"username": "x2", "manager_id": "inactive"}, "manager_id",
         "Select an active user."),
        ("patch", "rep2", {"department_id": "deleted"}, "department_id",
         "This department is in the recycle bin."),
        ("post", "/api/v1/departments", {"name": "x", "code": "x", "parent_id": "deleted"},
         "parent_id", "The parent department is in the recycle bin."),
    ],
)  # fmt: skip
def test_api_reports_the_service_checks_under_the_api_field_names(
    org: Org, method: str, path: str, body: dict[str, Any], field: str, message: str
) -> None:
    # given a deleted department and an inactive user
    deleted = _deleted_department(org)
    User.objects.filter(pk=org.kam.pk).update(is_active=False)
    body = {k: {"deleted": deleted.pk, "inactive": org.kam.pk}.get(v, v) for k, v in body.items()}
    if path == "rep2":
        path, body = f"/api/v1/users/{org.other_rep.pk}", {**body, "version": 1}
    client = ApiClient(org.admin)
    client.headers["Accept-Language"] = "en"
    before = db_state()
    # when
    response = client.request(method.upper(), path, json=body)
    # then
    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {field: [message]}
    assert db_state() == before


# --- Versions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("write", ["deactivate", "reactivate", "password_change"])
def test_every_write_to_a_user_bumps_the_version(org: Org, write: str) -> None:
    # given
    user = org.other_rep
    if write == "reactivate":
        user_deactivate(actor=org.admin, user=user)
    version = User.objects.get(pk=user.pk).version
    # when
    if write == "deactivate":
        user_deactivate(actor=org.admin, user=user)
    elif write == "reactivate":
        user_reactivate(actor=org.admin, user=user)
    else:
        user_password_change(
            user=user,
            current_password=PASSWORD,
            new_password="another-long-passphrase-77",
            session_key=None,
        )
    # then the stored version moved on, and the object in hand knows it
    assert User.objects.get(pk=user.pk).version == version + 1
    assert user.version == version + 1


def test_an_edit_opened_before_a_deactivation_is_a_conflict(org: Org) -> None:
    # given the administrator opened rep2's form, then someone deactivated rep2
    admin = login_client(org.admin)
    form = admin.get(f"/accounts/users/{org.other_rep.pk}/").context["form"]
    user_deactivate(actor=org.manager, user=User.objects.get(pk=org.other_rep.pk))
    before = db_state()
    # when the form is saved
    response = admin.post(
        f"/accounts/users/{org.other_rep.pk}/",
        {**form.initial, "department": org.north.pk, "full_name": "改名", "manager": ""},
    )
    # then it is a conflict, and nothing is saved
    assert response.status_code == 409
    assert db_state() == before


@pytest.mark.parametrize("version", [None, "", "x"])
def test_a_user_edit_without_a_valid_version_is_refused(org: Org, version: Any) -> None:
    # given
    data = {
        "username": "rep2",
        "full_name": "改名",
        "email": org.other_rep.email,
        "role": "sales_rep",
        "department": org.north.pk,
    }
    if version is not None:
        data["version"] = version
    before = db_state()
    # when
    response = login_client(org.admin).post(
        f"/accounts/users/{org.other_rep.pk}/", data, HTTP_ACCEPT_LANGUAGE="en"
    )
    # then a clear error, and nothing saved
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert "Reload the page and try again." in response.content.decode()
    assert db_state() == before


def test_a_department_edit_without_a_version_is_refused(org: Org) -> None:
    before = db_state()
    response = login_client(org.admin).post(
        f"/accounts/departments/{org.north.pk}/",
        {"name": "华北大区", "code": "north", "parent": org.sales.pk},
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert db_state() == before


# --- Session clean-up ---------------------------------------------------------------------------
def test_sessions_cleanup_is_a_service_the_task_calls(org: Org, monkeypatch: Any) -> None:
    # given an expired session with its login record, and a live one
    old, live = (
        Session.objects.create(
            session_key="a" * 32, session_data="", expire_date=timezone.now() - dt.timedelta(days=1)
        ),
        Session.objects.create(
            session_key="b" * 32, session_data="", expire_date=timezone.now() + dt.timedelta(days=1)
        ),
    )
    for session in (old, live):
        LoginSession.objects.create(user=org.rep, session_key=session.session_key)
    # when the service runs
    assert services.sessions_cleanup() == 1
    # then only the live session and its record remain
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert list(LoginSession.objects.values_list("session_key", flat=True)) == ["b" * 32]
    # and the task is only a call of it
    from guanxi.accounts import tasks

    monkeypatch.setattr(tasks, "sessions_cleanup", lambda: 42)
    assert tasks.sessions_cleanup_task.call() == 42
