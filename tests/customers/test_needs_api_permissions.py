"""Permission matrix of every needs API endpoint: anonymous, each role and an outsider.

Needs follow their customer: readers of the customer read its needs, writers write them (pool
customers' needs: managers and administrators). Need categories: everyone reads, administrators
write. Anonymous calls get 401; a denied call changes nothing; an allowed write changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.customers import services
from tests.conftest import ApiClient, Org
from tests.customers.conftest import db_state, make_customer, make_need, need_category
from tests.customers.test_api_permissions import (
    ACTORS,
    ADMIN_ONLY_DENIED,
    EVERYONE_200,
    OWN_HIDDEN,
    OWN_READ,
    OWN_WRITE_DENIED,
    POOL_WRITE_DENIED,
    actor_for,
)

pytestmark = pytest.mark.django_db

WRITERS = ("administrator", "sales_manager", "sales_rep")
MANAGERS = ("administrator", "sales_manager")


@dataclass
class NeedEndpoint:
    name: str
    method: str
    route: str  # as the router declares it
    path: Callable[[dict[str, Any]], str]
    body: Callable[[Org, dict[str, Any]], Any] | None
    allowed: dict[str, int]
    denied: dict[str, int]
    writes: bool


def _given(org: Org) -> dict[str, Any]:
    own = make_customer(org.rep, "华东客户")
    pool = make_customer(None, "公海客户")
    closed = make_need(own, "已关闭的需求")
    return {
        "own": own,
        "pool": pool,
        "own_need": make_need(own, "驻场运维", fit_status="partial"),
        "pool_need": make_need(pool, "送货上门"),
        "closed_need": services.need_close(actor=org.rep, need=closed),
        "category": services.need_category_create(actor=org.admin, code="warranty", name="质保"),
    }


def _new_need(customer_key: str) -> Callable[[Org, dict[str, Any]], Any]:
    return lambda o, g: {
        "customer_id": g[customer_key].pk,
        "title": "新需求",
        "category_id": need_category("delivery").pk,
    }


ENDPOINTS = [
    NeedEndpoint(
        "need-list", "GET", "/needs", lambda g: "/api/v1/needs", None, EVERYONE_200, {}, False
    ),
    NeedEndpoint(
        "need-create",
        "POST",
        "/needs",
        lambda g: "/api/v1/needs",
        _new_need("own"),
        dict.fromkeys(WRITERS, 201),
        OWN_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-create-pool",
        "POST",
        "/needs",
        lambda g: "/api/v1/needs",
        _new_need("pool"),
        dict.fromkeys(MANAGERS, 201),
        POOL_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-unmet",
        "GET",
        "/needs/unmet",
        lambda g: "/api/v1/needs/unmet",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    NeedEndpoint(
        "need-detail",
        "GET",
        "/needs/{need_id}",
        lambda g: f"/api/v1/needs/{g['own_need'].pk}",
        None,
        OWN_READ,
        OWN_HIDDEN,
        False,
    ),
    NeedEndpoint(
        "need-detail-pool",
        "GET",
        "/needs/{need_id}",
        lambda g: f"/api/v1/needs/{g['pool_need'].pk}",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    NeedEndpoint(
        "need-edit",
        "PATCH",
        "/needs/{need_id}",
        lambda g: f"/api/v1/needs/{g['own_need'].pk}",
        lambda o, g: {"version": g["own_need"].version, "priority": "high"},
        dict.fromkeys(WRITERS, 200),
        OWN_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-edit-pool",
        "PATCH",
        "/needs/{need_id}",
        lambda g: f"/api/v1/needs/{g['pool_need'].pk}",
        lambda o, g: {"version": g["pool_need"].version, "priority": "high"},
        dict.fromkeys(MANAGERS, 200),
        POOL_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-delete",
        "DELETE",
        "/needs/{need_id}",
        lambda g: f"/api/v1/needs/{g['own_need'].pk}",
        None,
        dict.fromkeys(WRITERS, 204),
        OWN_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-close",
        "POST",
        "/needs/{need_id}/close",
        lambda g: f"/api/v1/needs/{g['own_need'].pk}/close",
        lambda o, g: {"note": "已满足"},
        dict.fromkeys(WRITERS, 200),
        OWN_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-reopen",
        "POST",
        "/needs/{need_id}/reopen",
        lambda g: f"/api/v1/needs/{g['closed_need'].pk}/reopen",
        lambda o, g: {},
        dict.fromkeys(WRITERS, 200),
        OWN_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-history",
        "GET",
        "/needs/{need_id}/history",
        lambda g: f"/api/v1/needs/{g['own_need'].pk}/history",
        None,
        OWN_READ,
        OWN_HIDDEN,
        False,
    ),
    NeedEndpoint(
        "need-note",
        "POST",
        "/needs/{need_id}/notes",
        lambda g: f"/api/v1/needs/{g['own_need'].pk}/notes",
        lambda o, g: {"text": "客户来电确认"},
        dict.fromkeys(WRITERS, 201),
        OWN_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-note-pool",
        "POST",
        "/needs/{need_id}/notes",
        lambda g: f"/api/v1/needs/{g['pool_need'].pk}/notes",
        lambda o, g: {"text": "客户来电确认"},
        dict.fromkeys(MANAGERS, 201),
        POOL_WRITE_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-category-list",
        "GET",
        "/need-categories",
        lambda g: "/api/v1/need-categories",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    NeedEndpoint(
        "need-category-create",
        "POST",
        "/need-categories",
        lambda g: "/api/v1/need-categories",
        lambda o, g: {"code": "safety", "name": "安全"},
        {"administrator": 201},
        ADMIN_ONLY_DENIED,
        True,
    ),
    NeedEndpoint(
        "need-category-edit",
        "PATCH",
        "/need-categories/{category_id}",
        lambda g: f"/api/v1/need-categories/{g['category'].pk}",
        lambda o, g: {"version": g["category"].version, "name": "质保与延保"},
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        True,
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_needs_endpoint_permissions(org: Org, endpoint: NeedEndpoint, actor: str) -> None:
    # given
    given = _given(org)
    client = ApiClient(actor_for(org, actor))
    body = endpoint.body(org, given) if endpoint.body else None
    before = db_state()
    # when
    response = client.request(endpoint.method, endpoint.path(given), json=body)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
    elif actor in endpoint.allowed:
        assert response.status_code == endpoint.allowed[actor], response.content[:500]
        assert (db_state() != before) is endpoint.writes
    else:
        assert response.status_code == endpoint.denied[actor], response.content[:500]
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == {403: "permission_denied", 404: "not_found"}[response.status_code]
        assert db_state() == before


def test_every_needs_endpoint_is_in_the_matrix() -> None:
    from guanxi.customers.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
        if path.startswith(("/needs", "/need-categories"))
    }
    assert operations == {(e.method, e.route) for e in ENDPOINTS}
