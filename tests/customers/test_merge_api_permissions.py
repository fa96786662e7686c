"""Permission matrix of every merge endpoint: anonymous, each role and an outsider.

Anonymous calls get 401; a denied call answers with the error contract and changes nothing; an
allowed merge or undo changes something. The records are those of the page matrix
(test_merge_views_permissions): two duplicates of the rep's, two in the pool, and a merge of a
third pair of the rep's that can still be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ApiClient, Org
from tests.customers.conftest import db_state
from tests.customers.test_merge_views_permissions import Records, _records

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
MANAGERS = ("administrator", "sales_manager")
HIDDEN_FROM = ("key_account_manager", "service_agent", "department_handler", "outsider")
# The rep's customers: managers merge, the rep and the analyst see them but may not, the rest
# never see them.
OWN_DENIED = {"sales_rep": 403, "analyst": 403, **dict.fromkeys(HIDDEN_FROM, 404)}
POOL_DENIED = {key: 403 for key in ROLES if key not in MANAGERS}
# Reading a merge: whoever sees the survivor (the rep's customer).
READERS = {"administrator": 200, "sales_manager": 200, "sales_rep": 200, "analyst": 200}
DENIED_CODES = {403: "permission_denied", 404: "not_found"}


def actor_for(org: Org, key: str) -> Any:
    if key == "anonymous":
        return None
    if key == "outsider":
        return org.outsider
    return org.by_role()[key]


def _merge_body(survivor: Any, merged: Any) -> dict[str, Any]:
    survivor.refresh_from_db()
    merged.refresh_from_db()
    return {
        "merged_id": merged.pk,
        "values": {"name": "merged"},
        "versions": {"survivor": survivor.version, "merged": merged.version},
    }


@dataclass
class Endpoint:
    name: str
    method: str
    route: str  # as the router declares it, for the completeness check
    path: Callable[[Records], str]
    body: Callable[[Records], Any] | None
    allowed: dict[str, int]
    denied: dict[str, int]
    writes: bool


ENDPOINTS = [
    Endpoint(
        "merge",
        "POST",
        "/customers/{customer_id}/merge",
        lambda r: f"/api/v1/customers/{r.owned.pk}/merge",
        lambda r: _merge_body(r.owned, r.owned_duplicate),
        dict.fromkeys(MANAGERS, 201),
        OWN_DENIED,
        True,
    ),
    Endpoint(
        "merge-pool",
        "POST",
        "/customers/{customer_id}/merge",
        lambda r: f"/api/v1/customers/{r.pool.pk}/merge",
        lambda r: _merge_body(r.pool, r.pool_duplicate),
        dict.fromkeys(MANAGERS, 201),
        POOL_DENIED,
        True,
    ),
    Endpoint(
        "merge-show",
        "GET",
        "/customer-merges/{merge_id}",
        lambda r: f"/api/v1/customer-merges/{r.merge.pk}",
        None,
        READERS,
        dict.fromkeys(HIDDEN_FROM, 404),
        False,
    ),
    Endpoint(
        "merge-undo",
        "POST",
        "/customer-merges/{merge_id}/undo",
        lambda r: f"/api/v1/customer-merges/{r.merge.pk}/undo",
        None,
        dict.fromkeys(MANAGERS, 200),
        OWN_DENIED,
        True,
    ),
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_merge_endpoint_permissions(org: Org, endpoint: Endpoint, actor: str) -> None:
    # given
    records = _records(org)
    client = ApiClient(actor_for(org, actor))
    path = endpoint.path(records)
    body = endpoint.body(records) if endpoint.body else None
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
        assert (db_state() != before) == endpoint.writes
    else:
        assert response.status_code == endpoint.denied[actor], response.content[:500]
        payload = response.json()
        assert set(payload) == {"message", "code", "fields"}
        assert payload["code"] == DENIED_CODES[response.status_code]
        assert db_state() == before


def test_every_merge_endpoint_is_in_the_matrix() -> None:
    from guanxi.customers.merge.api import router

    operations = {
        (method, path)
        for path, view in router.path_operations.items()
        for op in view.operations
        for method in op.methods
    }
    assert operations == {
        ("POST", "/customers/{customer_id}/merge"),
        ("GET", "/customer-merges/{merge_id}"),
        ("POST", "/customer-merges/{merge_id}/undo"),
    }
    assert {(e.method, e.route) for e in ENDPOINTS} == operations
