"""Permission matrix of every page of the history library and of quarterly verification:
anonymous, each of the seven roles and an outsider.

The records: the rep's customer (华东组) with its open verification task, the rep's customer in
the history library, a pool customer, a customer of rep2 (华北组) still without a task, and a
custom churn reason. Moving into the library and back follows the customer's write rules (its
owner, managers and administrators in their scope; pool customers: managers and
administrators); the breakdown, the library's tab and "my tasks" are for everyone (each sees their
own scope); the report is for managers and administrators; the churn reasons and making the
tasks by hand are for administrators. A denied request changes nothing; an allowed write
changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.customers import services
from guanxi.customers.models import VerificationTask
from tests.conftest import Org
from tests.customers.conftest import db_state, make_contact, make_customer
from tests.customers.test_views_permissions import (
    ACTORS,
    EVERYONE_200,
    OWNED_READ,
    ROLES,
    _client,
    _owned_write,
    _pool_write,
)

pytestmark = pytest.mark.django_db


@dataclass
class Records:
    owned: Any
    task: Any
    archived: Any
    pool: Any
    reason: Any


def _records(org: Org) -> Records:
    owned = make_customer(org.rep, "华为技术有限公司")
    make_contact(owned, "李四", phones=["13800138000"])
    archived = make_customer(org.rep, "流失客户")
    pool = make_customer(None, "公海客户有限公司")
    services.verification_tasks_create(actor=None)
    archived = services.customer_archive(actor=org.rep, customer=archived, reason="price")
    # filed after the quarter's batch: what making the tasks by hand adds
    make_customer(org.other_rep, "华北新客户")
    return Records(
        owned=owned,
        task=VerificationTask.objects.get(customer=owned),
        archived=archived,
        pool=pool,
        reason=services.churn_reason_create(actor=org.admin, code="merger", name="被并购"),
    )


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


MANAGERS_200 = {**dict.fromkeys(ROLES, 403), "administrator": 200, "sales_manager": 200}


def _admin_only(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "administrator": ok}


def _archive_form(customer: Any) -> dict[str, Any]:
    return {
        "version": customer.version,
        "lifecycle": "churned",
        "churn_reason": "competitor",
        "churn_note": "改用同行",
    }


CASES = [
    Case("history-tab", "GET", lambda r: "/customers/?archived=1", None, EVERYONE_200, False),
    Case(
        "archive-form",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/archive/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "archive",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/archive/",
        lambda r: _archive_form(r.owned),
        _owned_write(302),
        True,
    ),
    Case(
        "archive-without-reason",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/archive/",
        lambda r: {**_archive_form(r.owned), "churn_reason": ""},
        _owned_write(400),
        False,
    ),
    Case(
        "archive-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/archive/",
        lambda r: _archive_form(r.pool),
        _pool_write(302),
        True,
    ),
    Case(
        "restore-form",
        "GET",
        lambda r: f"/customers/{r.archived.pk}/restore/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "restore",
        "POST",
        lambda r: f"/customers/{r.archived.pk}/restore/",
        lambda r: {"version": r.archived.version, "lifecycle": "intent"},
        _owned_write(302),
        True,
    ),
    Case("breakdown", "GET", lambda r: "/customers/history/reasons/", None, EVERYONE_200, False),
    Case(
        "churn-reason-list", "GET", lambda r: "/customers/churn-reasons/", None, EVERYONE_200, False
    ),
    Case(
        "churn-reason-create",
        "POST",
        lambda r: "/customers/churn-reasons/",
        lambda r: {"code": "policy", "name": "政策变化", "sort_order": 5, "is_active": "on"},
        _admin_only(302),
        True,
    ),
    Case(
        "churn-reason-edit-form",
        "GET",
        lambda r: f"/customers/churn-reasons/{r.reason.pk}/edit/",
        None,
        _admin_only(200),
        False,
    ),
    Case(
        "churn-reason-edit",
        "POST",
        lambda r: f"/customers/churn-reasons/{r.reason.pk}/edit/",
        lambda r: {"version": r.reason.version, "name": "被收购", "sort_order": 1},
        _admin_only(302),
        True,
    ),
    Case(
        "verification-task-list",
        "GET",
        lambda r: "/customers/verification/",
        None,
        EVERYONE_200,
        False,
    ),
    Case(
        "verification-task-detail",
        "GET",
        lambda r: f"/customers/verification/{r.task.pk}/",
        None,
        OWNED_READ,
        False,
    ),
    Case(
        "verification-task-verify",
        "POST",
        lambda r: f"/customers/verification/{r.task.pk}/verify/",
        lambda r: {"note": "电话确认"},
        _owned_write(302),
        True,
    ),
    Case(
        "verification-report",
        "GET",
        lambda r: "/customers/verification/report/",
        None,
        MANAGERS_200,
        False,
    ),
    Case(
        "verification-task-generate",
        "POST",
        lambda r: "/customers/verification/generate/",
        None,
        _admin_only(302),
        True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_history_and_verification_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    client = _client(org, actor)
    data = case.data(records) if case.data else None
    before = db_state()
    # when
    path = case.path(records)
    response = client.get(path) if case.method == "GET" else client.post(path, data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    expected = case.expected[actor]
    assert response.status_code == expected, (case.name, actor, response.content[:300])
    if expected >= 400 or not case.writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_every_history_and_verification_page_is_in_the_matrix() -> None:
    from guanxi.customers.urls import urlpatterns

    prefixes = ("churn-", "verification-", "customer-archive", "customer-restore")
    names = {p.name for p in urlpatterns if p.name and p.name.startswith(prefixes)}
    cases = {case.name for case in CASES}
    covered = {
        "churn-breakdown": "breakdown",
        "churn-reason-list": "churn-reason-list",
        "churn-reason-edit": "churn-reason-edit",
        "customer-archive": "archive",
        "customer-restore": "restore",
        "verification-task-list": "verification-task-list",
        "verification-task-detail": "verification-task-detail",
        "verification-task-verify": "verification-task-verify",
        "verification-report": "verification-report",
        "verification-task-generate": "verification-task-generate",
    }
    assert names == set(covered)
    assert set(covered.values()) <= cases


def test_read_only_viewers_see_no_history_or_verify_buttons(org: Org) -> None:
    records = _records(org)
    analyst = _client(org, "analyst")
    body = analyst.get(f"/customers/{records.owned.pk}/").content.decode()
    assert "/archive/" not in body
    assert "/restore/" not in analyst.get(f"/customers/{records.archived.pk}/").content.decode()
    task_page = analyst.get(f"/customers/verification/{records.task.pk}/").content.decode()
    assert "/verify/" not in task_page
