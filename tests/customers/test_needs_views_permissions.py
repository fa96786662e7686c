"""Permission matrix of every needs page: anonymous, each of the seven roles and an outsider.

The records: a need of the rep's customer (华东组), a closed one, and a need of a pool customer.
Needs follow their customer: 404 outside its scope, 403 where it is visible but read-only; pool
customers' needs are read by everyone and written by managers and administrators. The need
categories are read by everyone and kept by administrators. A denied request changes nothing; an
allowed write changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.customers import services
from tests.conftest import Org
from tests.customers.conftest import db_state, make_customer, make_need, need_category
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
    need: Any
    closed: Any
    pool: Any
    pool_need: Any
    category: Any


def _records(org: Org) -> Records:
    owned = make_customer(org.rep, "华为技术有限公司")
    pool = make_customer(None, "公海客户有限公司")
    return Records(
        owned=owned,
        need=make_need(owned, "驻场运维", fit_status="partial"),
        closed=services.need_close(actor=org.rep, need=make_need(owned, "已关闭")),
        pool=pool,
        pool_need=make_need(pool, "送货上门"),
        category=services.need_category_create(actor=org.admin, code="warranty", name="质保"),
    )


def _need_form(need: Any) -> dict[str, Any]:
    return {
        "version": need.version,
        "title": need.title + "（改）",
        "category": need.category_id,
        "priority": "high",
        "source": need.source,
        "fit_status": need.fit_status,
        "solution": need.solution,
        "plan_owner": need.plan_owner_id or "",
        "plan_due_date": need.plan_due_date or "",
    }


def _new_need(records: Records) -> dict[str, Any]:
    return {
        "title": "新需求",
        "category": need_category("delivery").pk,
        "priority": "medium",
        "source": "sales_meeting",
        "fit_status": "not_assessed",
    }


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


ADMIN_ONLY = {**dict.fromkeys(ROLES, 403), "administrator": 302}
ADMIN_ONLY_GET = {**dict.fromkeys(ROLES, 403), "administrator": 200}

CASES = [
    Case("list", "GET", lambda r: "/customers/needs/", None, EVERYONE_200, False),
    Case(
        "list-filtered",
        "GET",
        lambda r: f"/customers/needs/?customer={r.owned.pk}&fit_status=unmet_any&sort=-updated_at",
        None,
        EVERYONE_200,
        False,
    ),
    Case(
        "create-get",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/needs/new/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "create-owned",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/needs/new/",
        _new_need,
        _owned_write(302),
        True,
    ),
    Case(
        "create-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/needs/new/",
        _new_need,
        _pool_write(302),
        True,
    ),
    Case(
        "detail-owned", "GET", lambda r: f"/customers/needs/{r.need.pk}/", None, OWNED_READ, False
    ),
    Case(
        "detail-pool",
        "GET",
        lambda r: f"/customers/needs/{r.pool_need.pk}/",
        None,
        EVERYONE_200,
        False,
    ),
    Case(
        "edit-get",
        "GET",
        lambda r: f"/customers/needs/{r.need.pk}/edit/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "edit-owned",
        "POST",
        lambda r: f"/customers/needs/{r.need.pk}/edit/",
        lambda r: _need_form(r.need),
        _owned_write(302),
        True,
    ),
    Case(
        "edit-pool",
        "POST",
        lambda r: f"/customers/needs/{r.pool_need.pk}/edit/",
        lambda r: _need_form(r.pool_need),
        _pool_write(302),
        True,
    ),
    Case(
        "close",
        "POST",
        lambda r: f"/customers/needs/{r.need.pk}/close/",
        lambda r: {"version": r.need.version, "note": "已满足"},
        _owned_write(302),
        True,
    ),
    Case(
        "reopen",
        "POST",
        lambda r: f"/customers/needs/{r.closed.pk}/reopen/",
        lambda r: {"version": r.closed.version},
        _owned_write(302),
        True,
    ),
    Case(
        "delete",
        "POST",
        lambda r: f"/customers/needs/{r.need.pk}/delete/",
        lambda r: {},
        _owned_write(302),
        True,
    ),
    Case(
        "note-owned",
        "POST",
        lambda r: f"/customers/needs/{r.need.pk}/notes/",
        lambda r: {"text": "客户来电"},
        _owned_write(302),
        True,
    ),
    Case(
        "note-pool",
        "POST",
        lambda r: f"/customers/needs/{r.pool_need.pk}/notes/",
        lambda r: {"text": "客户来电"},
        _pool_write(302),
        True,
    ),
    Case(
        "category-list",
        "GET",
        lambda r: "/customers/needs/categories/",
        None,
        EVERYONE_200,
        False,
    ),
    Case(
        "category-create",
        "POST",
        lambda r: "/customers/needs/categories/",
        lambda r: {"code": "safety", "name": "安全", "sort_order": 5, "is_active": "on"},
        ADMIN_ONLY,
        True,
    ),
    Case(
        "category-edit-get",
        "GET",
        lambda r: f"/customers/needs/categories/{r.category.pk}/edit/",
        None,
        ADMIN_ONLY_GET,
        False,
    ),
    Case(
        "category-edit",
        "POST",
        lambda r: f"/customers/needs/categories/{r.category.pk}/edit/",
        lambda r: {"version": r.category.version, "name": "质保与延保", "sort_order": 1},
        ADMIN_ONLY,
        True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_need_page_permissions(org: Org, case: Case, actor: str) -> None:
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


def test_every_needs_page_is_in_the_matrix() -> None:
    from guanxi.customers.urls import urlpatterns

    names = {p.name for p in urlpatterns if p.name and p.name.startswith("need")}
    covered = {
        "list": "need-list",
        "create": "need-create",
        "detail": "need-detail",
        "edit": "need-edit",
        "close": "need-close",
        "reopen": "need-reopen",
        "delete": "need-delete",
        "note": "need-note-create",
        "category-list": "need-category-list",
        "category-create": "need-category-list",
        "category-edit": "need-category-edit",
    }
    cases = {case.name for case in CASES}
    assert names == {covered[key] for key in covered if any(c.startswith(key) for c in cases)}
