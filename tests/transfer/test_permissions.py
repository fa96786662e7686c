"""Permission matrix of every import and export page and endpoint: anonymous, each of the seven
roles and an outsider.

The records: a customer owned by the rep (华东组) and a pool customer, each with a contact, and a
finished export job of the rep's. Everyone may export what they see (an export writes its audit
entry); a job and its file are the rep's alone (404 to anyone else); importing contacts needs
write access to the customer (403 read-only, 404 outside the scope). A denied request changes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from guanxi.transfer import services
from guanxi.transfer.models import ExportJob
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import make_contact, make_customer
from tests.transfer.conftest import db_state

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
EVERYONE = dict.fromkeys(ROLES, 200)
# The rep's customer: read by the rep, the sales manager, the administrator and the analyst.
OWNED_READ = {
    "administrator": 200,
    "sales_manager": 200,
    "sales_rep": 200,
    "analyst": 200,
    "key_account_manager": 404,
    "service_agent": 404,
    "department_handler": 404,
    "outsider": 404,
}
REP_ONLY = {**dict.fromkeys(ROLES, 404), "sales_rep": 200}


def _owned_write(ok: int) -> dict[str, int]:
    return {**OWNED_READ, "administrator": ok, "sales_manager": ok, "sales_rep": ok, "analyst": 403}


def _pool_write(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "administrator": ok, "sales_manager": ok}


VCARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\xe8\xb5\xb5\xe5\x85\xad\r\nTEL:13700137000\r\nEND:VCARD\r\n"
)


@dataclass
class Records:
    owned: Any
    pool: Any
    job: ExportJob


def _records(org: Org, settings: Any) -> Records:
    owned = make_customer(org.rep, "华为技术有限公司")
    pool = make_customer(None, "公海客户有限公司")
    make_contact(owned, "李四", phones=["13800138000"])
    make_contact(pool, "王五", phones=["13900139000"])
    limit = settings.GUANXI_EXPORT_SYNC_LIMIT
    settings.GUANXI_EXPORT_SYNC_LIMIT = 0
    job = services.export_start(actor=org.rep, kind="customers", format="csv", params={}).job
    settings.GUANXI_EXPORT_SYNC_LIMIT = limit
    services.export_job_run(job_id=job.pk)
    return Records(owned=owned, pool=pool, job=job)


def _user(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    return org.outsider if key == "outsider" else org.by_role()[key]


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


def _vcard(records: Records) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("a.vcf", VCARD), "legal_basis": "consent"}


PAGES = [
    Case("exports", "GET", lambda r: "/transfer/exports/", None, EVERYONE, False),
    Case(
        "export-customers",
        "POST",
        lambda r: "/transfer/exports/new/",
        lambda r: {"export": "customers:xlsx", "query": "sort=name"},
        EVERYONE,
        True,
    ),
    Case(
        "export-contacts-of-the-list",
        "POST",
        lambda r: "/transfer/exports/new/",
        lambda r: {"export": "contacts:csv", "query": ""},
        EVERYONE,
        True,
    ),
    Case(
        "export-contacts-owned",
        "POST",
        lambda r: "/transfer/exports/new/",
        lambda r: {"export": "contacts:vcard3", "customer": r.owned.pk},
        OWNED_READ,
        True,
    ),
    Case(
        "export-contacts-pool",
        "POST",
        lambda r: "/transfer/exports/new/",
        lambda r: {"export": "contacts:vcard4", "customer": r.pool.pk},
        EVERYONE,
        True,
    ),
    Case(
        "export-get",
        "GET",
        lambda r: "/transfer/exports/new/",
        None,
        dict.fromkeys(ROLES, 405),
        False,
    ),
    Case(
        "export-download",
        "GET",
        lambda r: f"/transfer/exports/{r.job.pk}/download/",
        None,
        REP_ONLY,
        False,
    ),
    Case(
        "vcard-import-form-owned",
        "GET",
        lambda r: f"/transfer/customers/{r.owned.pk}/contacts/vcard/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "vcard-import-owned",
        "POST",
        lambda r: f"/transfer/customers/{r.owned.pk}/contacts/vcard/",
        _vcard,
        _owned_write(302),
        True,
    ),
    Case(
        "vcard-import-form-pool",
        "GET",
        lambda r: f"/transfer/customers/{r.pool.pk}/contacts/vcard/",
        None,
        _pool_write(200),
        False,
    ),
    Case(
        "vcard-import-pool",
        "POST",
        lambda r: f"/transfer/customers/{r.pool.pk}/contacts/vcard/",
        _vcard,
        _pool_write(302),
        True,
    ),
]


@pytest.mark.parametrize("case", PAGES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_transfer_page_permissions(org: Org, settings: Any, case: Case, actor: str) -> None:
    # given
    records = _records(org, settings)
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


ENDPOINTS = [
    Case("customers-export", "GET", lambda r: "/api/v1/customers/export", None, EVERYONE, True),
    Case(
        "contacts-export",
        "GET",
        lambda r: "/api/v1/contacts/export?format=vcard4",
        None,
        EVERYONE,
        True,
    ),
    Case(
        "contacts-export-owned",
        "GET",
        lambda r: f"/api/v1/contacts/export?customer_id={r.owned.pk}",
        None,
        OWNED_READ,
        True,
    ),
    Case("exports", "GET", lambda r: "/api/v1/exports", None, EVERYONE, False),
    Case("export-detail", "GET", lambda r: f"/api/v1/exports/{r.job.pk}", None, REP_ONLY, False),
    Case(
        "export-download",
        "GET",
        lambda r: f"/api/v1/exports/{r.job.pk}/download",
        None,
        REP_ONLY,
        False,
    ),
    Case(
        "vcard-import-owned",
        "POST",
        lambda r: f"/api/v1/customers/{r.owned.pk}/contacts/vcard",
        _vcard,
        _owned_write(201),
        True,
    ),
    Case(
        "vcard-import-pool",
        "POST",
        lambda r: f"/api/v1/customers/{r.pool.pk}/contacts/vcard",
        _vcard,
        _pool_write(201),
        True,
    ),
]
DENIED_CODES = {403: "permission_denied", 404: "not_found"}


@pytest.mark.parametrize("case", ENDPOINTS, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_transfer_endpoint_permissions(org: Org, settings: Any, case: Case, actor: str) -> None:
    # given
    records = _records(org, settings)
    api = ApiClient(_user(org, actor))
    data = case.data(records) if case.data else None
    before = db_state()
    # when
    if case.method == "GET":
        response = api.client.get(case.path(records), headers=api.headers)
    else:
        response = api.client.post(case.path(records), data or {}, headers=api.headers)
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


def test_every_transfer_endpoint_is_in_the_matrix() -> None:
    from guanxi.transfer.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    assert operations == {
        ("GET", "/customers/export"),
        ("GET", "/contacts/export"),
        ("GET", "/exports"),
        ("GET", "/exports/{job_id}"),
        ("GET", "/exports/{job_id}/download"),
        ("POST", "/customers/{customer_id}/contacts/vcard"),
        # the imports: their matrix is tests/transfer/test_import_permissions.py
        ("POST", "/imports"),
        ("GET", "/imports"),
        ("GET", "/imports/{job_id}"),
        ("GET", "/imports/{job_id}/errors"),
        ("POST", "/imports/{job_id}/check"),
        ("GET", "/imports/templates/{kind}"),
        ("POST", "/imports/{job_id}/commit"),
        ("POST", "/imports/{job_id}/undo"),
    }
    from tests.transfer.test_import_permissions import ENDPOINTS as IMPORT_ENDPOINTS

    assert len({case.name for case in IMPORT_ENDPOINTS}) == 8
    assert {path.split("?")[0] for path in _matrix_paths()} >= {
        "/api/v1/customers/export",
        "/api/v1/contacts/export",
        "/api/v1/exports",
    }


def _matrix_paths() -> list[str]:
    stub = Records(owned=_Stub(), pool=_Stub(), job=_Stub())  # type: ignore[arg-type]
    return [case.path(stub) for case in ENDPOINTS]


class _Stub:
    pk = 1


def test_every_transfer_page_is_in_the_matrix() -> None:
    from guanxi.transfer.urls import urlpatterns

    assert {pattern.name for pattern in urlpatterns} == {
        "export-list",
        "export-create",
        "export-download",
        "contacts-vcard-import",
        # the imports: their matrix is tests/transfer/test_import_permissions.py
        "import-list",
        "import-create",
        "import-template",
        "import-detail",
        "import-progress",
        "import-check",
        "import-commit",
        "import-undo",
        "import-errors",
    }
    from tests.transfer.test_import_permissions import PAGES as IMPORT_PAGES

    covered = {case.path(_ImportStub()).split("/")[3] for case in IMPORT_PAGES}  # type: ignore[arg-type]
    assert covered >= {"", "new", "template", "1"}
    assert {case.name for case in IMPORT_PAGES} >= {
        "list",
        "create",
        "template",
        "detail",
        "progress",
        "check",
        "commit",
        "undo",
        "errors",
    }
    assert {case.path(Records(owned=_Stub(), pool=_Stub(), job=_Stub())) for case in PAGES} >= {  # type: ignore[arg-type]
        "/transfer/exports/",
        "/transfer/exports/new/",
        "/transfer/exports/1/download/",
        "/transfer/customers/1/contacts/vcard/",
    }


class _ImportStub:
    checked = _Stub()
    done = _Stub()
