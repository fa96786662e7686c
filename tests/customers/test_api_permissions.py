"""Permission matrix of every customers API endpoint: anonymous, each role and an outsider.

Anonymous calls get 401; a denied call changes nothing; an allowed write changes something.
The target customer belongs to rep1 (华东组) unless the row says pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.customers.models import Tag
from tests.conftest import ApiClient, Org
from tests.customers.conftest import db_state, make_contact, make_customer

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
EVERYONE_200 = dict.fromkeys(ROLES, 200)
# rep1's customer: the owner and managers write, the analyst (scope all) reads, the rest never see.
OWN_READ = {"administrator": 200, "sales_manager": 200, "sales_rep": 200, "analyst": 200}
OWN_HIDDEN = dict.fromkeys(
    ("key_account_manager", "service_agent", "department_handler", "outsider"), 404
)
OWN_WRITE_DENIED = {"analyst": 403, **OWN_HIDDEN}
# A pool customer: everyone reads, managers and administrators write.
POOL_WRITE_DENIED = {k: 403 for k in ROLES if k not in ("administrator", "sales_manager")}
TAG_WRITE_DENIED = POOL_WRITE_DENIED
MANAGERS_200 = {"administrator": 200, "sales_manager": 200}
# Claiming: whoever files customers (the outsider is a rep elsewhere and sees the pool too).
CLAIMERS_200 = dict.fromkeys(
    ("administrator", "sales_manager", "sales_rep", "key_account_manager", "outsider"), 200
)
NON_CLAIMERS_403 = {"service_agent": 403, "department_handler": 403, "analyst": 403}
# Transfer of rep1's customer: managers only; the owner may write it but not give it away.
OWN_TRANSFER_DENIED = {"sales_rep": 403, **OWN_WRITE_DENIED}
NON_MANAGERS_403 = {k: 403 for k in ROLES if k not in MANAGERS_200}
ADMIN_ONLY_DENIED = {k: 403 for k in ROLES if k != "administrator"}


DENIED_CODES = {403: "permission_denied", 404: "not_found", 409: "reveal_pool_customer"}


def actor_for(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    if key == "outsider":
        return org.outsider
    return org.by_role()[key]


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Org, dict[str, Any]], str]
    body: Callable[[Org, dict[str, Any]], Any] | None
    allowed: dict[str, int]
    denied: dict[str, int]
    # whether an allowed call changes the database; or the actors for whom it does (a reveal
    # writes an audit entry, except for the owner, who sees the data in full anyway)
    writes: bool | frozenset[str]


def _given(org: Org) -> dict[str, Any]:
    own = make_customer(org.rep, "华东客户")
    pool = make_customer(None, "公海客户")
    return {
        "own": own,
        "pool": pool,
        "own_contact": make_contact(own, "张三", phones=["13800138000"]),
        "pool_contact": make_contact(pool, "李四", phones=["13900139000"]),
        "custom_tag": Tag.objects.create(name="自定义", color="teal"),
        "preset": Tag.objects.get(name="高意向客户"),
    }


ENDPOINTS = [
    Endpoint(
        "customer-list", "GET", lambda o, g: "/api/v1/customers", None, EVERYONE_200, {}, False
    ),
    Endpoint(
        "customer-create",
        "POST",
        lambda o, g: "/api/v1/customers",
        lambda o, g: {"name": "新客户"},
        dict.fromkeys(
            ("administrator", "sales_manager", "sales_rep", "key_account_manager", "outsider"),
            201,
        ),
        {"service_agent": 403, "department_handler": 403, "analyst": 403},
        True,
    ),
    Endpoint(
        "customer-detail",
        "GET",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}",
        None,
        OWN_READ,
        OWN_HIDDEN,
        False,
    ),
    Endpoint(
        "customer-detail-pool",
        "GET",
        lambda o, g: f"/api/v1/customers/{g['pool'].pk}",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "customer-edit",
        "PATCH",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}",
        lambda o, g: {"version": g["own"].version, "name": "改名"},
        {"administrator": 200, "sales_manager": 200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-edit-pool",
        "PATCH",
        lambda o, g: f"/api/v1/customers/{g['pool'].pk}",
        lambda o, g: {"version": g["pool"].version, "name": "改名"},
        {"administrator": 200, "sales_manager": 200},
        POOL_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-delete",
        "DELETE",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}",
        None,
        {"administrator": 204, "sales_manager": 204, "sales_rep": 204},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-tags",
        "PUT",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}/tags",
        lambda o, g: {"tags": [g["preset"].pk]},
        {"administrator": 200, "sales_manager": 200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-claim",
        "POST",
        lambda o, g: f"/api/v1/customers/{g['pool'].pk}/claim",
        None,
        CLAIMERS_200,
        NON_CLAIMERS_403,
        True,
    ),
    Endpoint(
        "customer-release",
        "POST",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}/release",
        lambda o, g: {"reason": "客户暂无需求"},
        {"administrator": 200, "sales_manager": 200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-transfer",
        "POST",
        lambda o, g: f"/api/v1/customers/{g['own'].pk}/transfer",
        lambda o, g: {"to_user_id": o.other_rep.pk, "reason": "区域调整"},
        MANAGERS_200,
        OWN_TRANSFER_DENIED,
        True,
    ),
    Endpoint(
        "customer-hand-over",
        "POST",
        lambda o, g: "/api/v1/customers/hand-over",
        lambda o, g: {"from_user_id": o.rep.pk, "to_user_id": o.other_rep.pk, "reason": "离职"},
        MANAGERS_200,
        NON_MANAGERS_403,
        True,
    ),
    # Bulk actions on rep1's customer: those who may write it act; the analyst sees it read-only
    # (403); for the rest it does not exist (404). All or nothing.
    Endpoint(
        "customer-bulk-tag",
        "POST",
        lambda o, g: "/api/v1/customers/bulk",
        lambda o, g: {"action": "tag_add", "ids": [g["own"].pk], "tag_id": g["preset"].pk},
        {**MANAGERS_200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-bulk-release",
        "POST",
        lambda o, g: "/api/v1/customers/bulk",
        lambda o, g: {"action": "release", "ids": [g["own"].pk], "reason": "批量退回"},
        {**MANAGERS_200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "customer-bulk-transfer",
        "POST",
        lambda o, g: "/api/v1/customers/bulk",
        lambda o, g: {
            "action": "transfer",
            "ids": [g["own"].pk],
            "to_user_id": o.other_rep.pk,
            "reason": "区域调整",
        },
        MANAGERS_200,
        NON_MANAGERS_403,
        True,
    ),
    Endpoint(
        "pool-policy-detail",
        "GET",
        lambda o, g: "/api/v1/customers/pool-policy",
        None,
        EVERYONE_200,
        {},
        False,
    ),
    Endpoint(
        "pool-policy-edit",
        "PUT",
        lambda o, g: "/api/v1/customers/pool-policy",
        lambda o, g: {
            "version": 1,
            "daily_claim_cap": 10,
            "holding_cap": 200,
            "protection_days": 15,
            "reclaim_cooldown_days": 3,
            "recycle_after_days": 60,
            "warn_days_before": 5,
        },
        {"administrator": 200},
        ADMIN_ONLY_DENIED,
        True,
    ),
    Endpoint("contact-list", "GET", lambda o, g: "/api/v1/contacts", None, EVERYONE_200, {}, False),
    Endpoint(
        "contact-create",
        "POST",
        lambda o, g: "/api/v1/contacts",
        lambda o, g: {"customer_id": g["own"].pk, "name": "王五"},
        {"administrator": 201, "sales_manager": 201, "sales_rep": 201},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "contact-create-pool",
        "POST",
        lambda o, g: "/api/v1/contacts",
        lambda o, g: {"customer_id": g["pool"].pk, "name": "王五"},
        {"administrator": 201, "sales_manager": 201},
        POOL_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "contact-detail",
        "GET",
        lambda o, g: f"/api/v1/contacts/{g['own_contact'].pk}",
        None,
        OWN_READ,
        OWN_HIDDEN,
        False,
    ),
    # Revealing the rep's contact: whoever sees it and whose role may reveal; the analyst's role
    # may not (403); pool contacts stay masked until claimed (409, or 403 where the role may not).
    Endpoint(
        "contact-reveal",
        "POST",
        lambda o, g: f"/api/v1/contacts/{g['own_contact'].pk}/reveal",
        None,
        {"administrator": 200, "sales_manager": 200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        frozenset({"administrator", "sales_manager"}),
    ),
    Endpoint(
        "contact-reveal-pool",
        "POST",
        lambda o, g: f"/api/v1/contacts/{g['pool_contact'].pk}/reveal",
        None,
        {},
        {**dict.fromkeys(ROLES, 409), "analyst": 403, "department_handler": 403},
        False,
    ),
    Endpoint(
        "contact-edit",
        "PATCH",
        lambda o, g: f"/api/v1/contacts/{g['own_contact'].pk}",
        lambda o, g: {"version": g["own_contact"].version, "title": "总经理"},
        {"administrator": 200, "sales_manager": 200, "sales_rep": 200},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "contact-edit-pool",
        "PATCH",
        lambda o, g: f"/api/v1/contacts/{g['pool_contact'].pk}",
        lambda o, g: {"version": g["pool_contact"].version, "title": "总经理"},
        {"administrator": 200, "sales_manager": 200},
        POOL_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "contact-delete",
        "DELETE",
        lambda o, g: f"/api/v1/contacts/{g['own_contact'].pk}",
        None,
        {"administrator": 204, "sales_manager": 204, "sales_rep": 204},
        OWN_WRITE_DENIED,
        True,
    ),
    Endpoint("tag-list", "GET", lambda o, g: "/api/v1/tags", None, EVERYONE_200, {}, False),
    Endpoint(
        "tag-create",
        "POST",
        lambda o, g: "/api/v1/tags",
        lambda o, g: {"name": "新标签", "color": "red"},
        {"administrator": 201, "sales_manager": 201},
        TAG_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "tag-edit",
        "PATCH",
        lambda o, g: f"/api/v1/tags/{g['custom_tag'].pk}",
        lambda o, g: {"version": g["custom_tag"].version, "color": "red"},
        {"administrator": 200, "sales_manager": 200},
        TAG_WRITE_DENIED,
        True,
    ),
    Endpoint(
        "tag-delete",
        "DELETE",
        lambda o, g: f"/api/v1/tags/{g['custom_tag'].pk}",
        None,
        {"administrator": 204, "sales_manager": 204},
        TAG_WRITE_DENIED,
        True,
    ),
    # --- duplicates: whoever files customers checks (the match of rep1's customer is masked for
    # those outside its scope); filing a likely duplicate is a 409 that writes nothing.
    Endpoint(
        "customer-duplicates",
        "POST",
        lambda o, g: "/api/v1/customers/duplicates",
        lambda o, g: {"name": "华东客户有限公司", "phones": ["13800138000"]},
        dict.fromkeys(
            ("administrator", "sales_manager", "sales_rep", "key_account_manager", "outsider"),
            200,
        ),
        NON_CLAIMERS_403,
        False,
    ),
    Endpoint(
        "customer-create-duplicate",
        "POST",
        lambda o, g: "/api/v1/customers",
        lambda o, g: {"name": "华东客户（上海）有限公司"},
        dict.fromkeys(
            ("administrator", "sales_manager", "sales_rep", "key_account_manager", "outsider"),
            409,
        ),
        NON_CLAIMERS_403,
        False,
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_customers_endpoint_permissions(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    given = _given(org)
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(org, given)
    body = endpoint.body(org, given) if endpoint.body else None
    before = db_state()
    # when
    response = client.request(endpoint.method, path, json=body)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert db_state() == before
    elif actor in endpoint.allowed:
        assert response.status_code == endpoint.allowed[actor], response.content[:500]
        writes = endpoint.writes if isinstance(endpoint.writes, bool) else actor in endpoint.writes
        if writes:
            assert db_state() != before
        else:
            assert db_state() == before
    else:
        assert response.status_code == endpoint.denied[actor], response.content[:500]
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[response.status_code]
        assert db_state() == before


def test_every_customers_endpoint_is_in_the_matrix() -> None:
    from guanxi.customers.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    assert operations == {
        ("GET", "/customers"),
        ("POST", "/customers"),
        ("GET", "/customers/{customer_id}"),
        ("PATCH", "/customers/{customer_id}"),
        ("DELETE", "/customers/{customer_id}"),
        ("PUT", "/customers/{customer_id}/tags"),
        ("POST", "/customers/{customer_id}/claim"),
        ("POST", "/customers/{customer_id}/release"),
        ("POST", "/customers/{customer_id}/transfer"),
        ("POST", "/customers/hand-over"),
        ("POST", "/customers/bulk"),
        ("GET", "/customers/pool-policy"),
        ("PUT", "/customers/pool-policy"),
        ("POST", "/customers/duplicates"),
        ("GET", "/contacts"),
        ("POST", "/contacts"),
        ("GET", "/contacts/{contact_id}"),
        ("PATCH", "/contacts/{contact_id}"),
        ("POST", "/contacts/{contact_id}/reveal"),
        ("DELETE", "/contacts/{contact_id}"),
        ("GET", "/tags"),
        ("POST", "/tags"),
        ("PATCH", "/tags/{tag_id}"),
        ("DELETE", "/tags/{tag_id}"),
        # needs (C2): their matrix is test_needs_api_permissions.py
        ("GET", "/needs"),
        ("POST", "/needs"),
        ("GET", "/needs/unmet"),
        ("GET", "/needs/{need_id}"),
        ("PATCH", "/needs/{need_id}"),
        ("DELETE", "/needs/{need_id}"),
        ("POST", "/needs/{need_id}/close"),
        ("POST", "/needs/{need_id}/reopen"),
        ("GET", "/needs/{need_id}/history"),
        ("POST", "/needs/{need_id}/notes"),
        ("GET", "/need-categories"),
        ("POST", "/need-categories"),
        ("PATCH", "/need-categories/{category_id}"),
        # history library and verification: their matrix is test_history_api_permissions.py
        ("POST", "/customers/{customer_id}/archive"),
        ("POST", "/customers/{customer_id}/restore"),
        ("GET", "/churn-breakdown"),
        ("GET", "/churn-reasons"),
        ("POST", "/churn-reasons"),
        ("PATCH", "/churn-reasons/{reason_id}"),
        ("GET", "/verification-tasks"),
        ("POST", "/verification-tasks/generate"),
        ("GET", "/verification-tasks/{task_id}"),
        ("POST", "/verification-tasks/{task_id}/verify"),
        ("GET", "/verification-report"),
    }
    covered = {(e.method, e.name.split("-")[0]) for e in ENDPOINTS}
    assert len(covered) >= 10


def test_a_rep_cannot_release_or_hand_over_their_customer_through_patch(org: Org) -> None:
    customer = make_customer(org.rep, "自己的")
    client = ApiClient(org.rep)
    before = db_state()
    for owner_id in (None, org.other_rep.pk):
        response = client.patch(
            f"/api/v1/customers/{customer.pk}", {"version": 1, "owner_id": owner_id}
        )
        assert response.status_code == 403
    assert db_state() == before


def test_a_preset_tag_cannot_be_deleted_even_by_an_administrator(org: Org) -> None:
    preset = Tag.objects.get(name="高意向客户")
    client = ApiClient(org.admin)
    before = db_state()
    response = client.delete(f"/api/v1/tags/{preset.pk}")
    assert response.status_code == 400
    assert response.json()["code"] == "tag_preset"
    assert db_state() == before
