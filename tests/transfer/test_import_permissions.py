"""Permission matrix of every import page and endpoint: anonymous, each of the seven roles and an
outsider.

Whoever files customers may import (administrator, sales manager, rep, key-account manager);
the service agent, the department handler and the analyst may not (403). An import job, its
file and its error report are its uploader's alone: 404 to anyone else, whatever their role. A
denied request changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from guanxi.transfer.models import ImportChange, ImportJob, ImportMapping
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import db_state as customers_db_state
from tests.transfer.import_helpers import csv_bytes, customer_row, run

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
IMPORTERS = ("administrator", "sales_manager", "sales_rep", "key_account_manager", "outsider")


def _importers(ok: int) -> dict[str, int]:
    return {role: ok if role in IMPORTERS else 403 for role in ROLES}


def _rep_only(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 404), "sales_rep": ok}


def db_state() -> dict[str, list[dict[str, Any]]]:
    state = customers_db_state()
    for model in (ImportJob, ImportChange, ImportMapping):
        state[model._meta.label] = list(model.objects.order_by("pk").values())
    return state


@dataclass
class Records:
    checked: ImportJob
    done: ImportJob


def _records(org: Org) -> Records:
    rows = [customer_row(1), customer_row(2, 手机="1")]
    checked = run(org.rep, csv_bytes(rows), commit=False, error_policy="skip")
    done = run(org.rep, csv_bytes([customer_row(3)]))
    return Records(checked=checked, done=done)


def _user(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    return org.outsider if key == "outsider" else org.by_role()[key]


def _mapping(records: Records) -> dict[str, Any]:
    form = {f"column_{index}": name for index, name in records.checked.mapping.items()}
    return {**form, "duplicate_policy": "skip", "error_policy": "skip"}


def _upload(records: Records) -> dict[str, Any]:
    return {"kind": "customers", "file": SimpleUploadedFile("a.csv", csv_bytes([customer_row(9)]))}


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


PAGES = [
    Case("list", "GET", lambda r: "/transfer/imports/", None, _importers(200), False),
    Case("create", "POST", lambda r: "/transfer/imports/new/", _upload, _importers(302), True),
    Case(
        "create-get",
        "GET",
        lambda r: "/transfer/imports/new/",
        None,
        dict.fromkeys(ROLES, 405),
        False,
    ),
    Case(
        "template",
        "GET",
        lambda r: "/transfer/imports/template/customers.xlsx",
        None,
        _importers(200),
        False,
    ),
    Case(
        "detail", "GET", lambda r: f"/transfer/imports/{r.checked.pk}/", None, _rep_only(200), False
    ),
    Case(
        "progress",
        "GET",
        lambda r: f"/transfer/imports/{r.checked.pk}/progress/",
        None,
        _rep_only(204),
        False,
    ),
    Case(
        "check",
        "POST",
        lambda r: f"/transfer/imports/{r.checked.pk}/check/",
        _mapping,
        _rep_only(302),
        True,
    ),
    Case(
        "commit",
        "POST",
        lambda r: f"/transfer/imports/{r.checked.pk}/commit/",
        _mapping,
        _rep_only(302),
        True,
    ),
    Case(
        "undo", "POST", lambda r: f"/transfer/imports/{r.done.pk}/undo/", None, _rep_only(302), True
    ),
    Case(
        "errors",
        "GET",
        lambda r: f"/transfer/imports/{r.checked.pk}/errors/",
        None,
        _rep_only(200),
        False,
    ),
]


@pytest.mark.parametrize("case", PAGES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_import_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    user = _user(org, actor)
    client = login_client(user) if user is not None else Client()
    data = case.data(records) if case.data else None
    before = db_state()
    # when
    if case.method == "GET":
        response = client.get(case.path(records))
    else:
        response = client.post(case.path(records), data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    assert response.status_code == case.expected[actor], (case.name, actor)
    if case.expected[actor] >= 400 or not case.writes:
        assert db_state() == before
    else:
        assert db_state() != before


def _api_upload(records: Records) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("a.csv", csv_bytes([customer_row(9)])), "kind": "customers"}


ENDPOINTS = [
    Case("imports-create", "POST", lambda r: "/api/v1/imports", _api_upload, _importers(200), True),
    Case("imports", "GET", lambda r: "/api/v1/imports", None, _importers(200), False),
    Case(
        "import-detail",
        "GET",
        lambda r: f"/api/v1/imports/{r.checked.pk}",
        None,
        _rep_only(200),
        False,
    ),
    Case(
        "import-errors",
        "GET",
        lambda r: f"/api/v1/imports/{r.checked.pk}/errors",
        None,
        _rep_only(200),
        False,
    ),
    Case(
        "import-check",
        "POST",
        lambda r: f"/api/v1/imports/{r.checked.pk}/check",
        None,
        _rep_only(200),
        True,
    ),
    Case(
        "import-template",
        "GET",
        lambda r: "/api/v1/imports/templates/contacts?format=csv",
        None,
        _importers(200),
        False,
    ),
    Case(
        "import-commit",
        "POST",
        lambda r: f"/api/v1/imports/{r.checked.pk}/commit",
        None,
        _rep_only(200),
        True,
    ),
    Case(
        "import-undo",
        "POST",
        lambda r: f"/api/v1/imports/{r.done.pk}/undo",
        None,
        _rep_only(200),
        True,
    ),
]
DENIED_CODES = {403: "permission_denied", 404: "not_found"}


@pytest.mark.parametrize("case", ENDPOINTS, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_import_endpoint_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    api = ApiClient(_user(org, actor))
    before = db_state()
    # when
    if case.method == "GET":
        response = api.client.get(case.path(records), headers=api.headers)
    elif case.data is not None:
        response = api.client.post(case.path(records), case.data(records), headers=api.headers)
    else:
        response = api.client.post(
            case.path(records), "{}", content_type="application/json", headers=api.headers
        )
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
        return
    expected = case.expected[actor]
    assert response.status_code == expected, (case.name, actor, response.content[:300])
    if expected >= 400:
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[expected]
        assert db_state() == before
    elif case.writes:
        assert db_state() != before
    else:
        assert db_state() == before


def test_a_system_import_belongs_to_nobody(org):
    from guanxi.core.exceptions import NotFoundError
    from guanxi.transfer.permissions import import_job_get_for_user

    job = run(None, csv_bytes([customer_row(1)]))
    assert job.user is None
    for user in org.by_role().values():
        with pytest.raises(NotFoundError):
            import_job_get_for_user(user, job.pk)
