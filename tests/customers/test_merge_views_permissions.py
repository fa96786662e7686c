"""Permission matrix of every merge page: anonymous, each of the seven roles and an outsider.

The records: two duplicates owned by the rep (华东组 under 销售部), two duplicates in the pool,
and a merge of a third pair of the rep's that can still be undone. Merging and undoing are for
sales managers and administrators; the rep may write their customers but not merge them (403),
the analyst sees them read-only (403), and those outside the scope get 404. A denied request
changes nothing; an allowed merge or undo changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guanxi.customers.merge.services import customer_merge
from tests.conftest import Org, login_client
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


@dataclass
class Records:
    owned: Any
    owned_duplicate: Any
    pool: Any
    pool_duplicate: Any
    merged_away: Any  # a customer of the rep's already merged into ``merge.survivor``
    merge: Any


def _records(org: Org) -> Records:
    owned = make_customer(org.rep, "华为技术有限公司")
    owned_duplicate = make_customer(org.rep, "华为技术（深圳）有限公司")
    make_contact(owned_duplicate, "李四", phones=["13800138000"])
    pool = make_customer(None, "公海客户有限公司")
    pool_duplicate = make_customer(None, "公海客户有限公司")
    kept = make_customer(org.rep, "已合并客户有限公司")
    merged_away = make_customer(org.rep, "已合并客户有限公司")
    merge = customer_merge(
        actor=org.admin,
        survivor=kept,
        merged=merged_away,
        values={},
        expected_versions={"survivor": kept.version, "merged": merged_away.version},
    )
    return Records(owned, owned_duplicate, pool, pool_duplicate, merged_away, merge)


def _client(org: Org, key: str) -> Client:
    if key == "anonymous":
        return Client()
    user = org.outsider if key == "outsider" else org.by_role()[key]
    return login_client(user)


def _merge_form(survivor: Any, merged: Any) -> dict[str, Any]:
    survivor.refresh_from_db()
    merged.refresh_from_db()
    return {
        "with": merged.pk,
        "version_survivor": survivor.version,
        "version_merged": merged.version,
        "confirm": "on",
    }


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


# The rep's customers: managers and administrators merge; the rep writes them but may not merge;
# the analyst reads them; the others do not see them.
OWNED = {
    "administrator": 200,
    "sales_manager": 200,
    "sales_rep": 403,
    "analyst": 403,
    "key_account_manager": 404,
    "service_agent": 404,
    "department_handler": 404,
    "outsider": 404,
}


def _owned(ok: int) -> dict[str, int]:
    return {**OWNED, "administrator": ok, "sales_manager": ok}


def _pool(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "administrator": ok, "sales_manager": ok}


# A merged customer's page leads to its survivor for whoever may see both.
MERGED_PAGE = {
    **dict.fromkeys(ROLES, 404),
    "administrator": 302,
    "sales_manager": 302,
    "sales_rep": 302,
    "analyst": 302,
}

CASES = [
    Case("choose", "GET", lambda r: f"/customers/{r.owned.pk}/merge/", None, _owned(200), False),
    Case(
        "choose-search",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/merge/?q=hw",
        None,
        _owned(200),
        False,
    ),
    Case(
        "compare",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/merge/?with={r.owned_duplicate.pk}",
        None,
        _owned(200),
        False,
    ),
    Case(
        "merge",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/merge/",
        lambda r: _merge_form(r.owned, r.owned_duplicate),
        _owned(302),
        True,
    ),
    Case(
        "compare-pool",
        "GET",
        lambda r: f"/customers/{r.pool.pk}/merge/?with={r.pool_duplicate.pk}",
        None,
        _pool(200),
        False,
    ),
    Case(
        "merge-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/merge/",
        lambda r: _merge_form(r.pool, r.pool_duplicate),
        _pool(302),
        True,
    ),
    # A pool customer kept, the rep's duplicate merged into it (the pool survivor takes the
    # rep as owner): the pool's write rule decides first.
    Case(
        "merge-pool-with-owned",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/merge/",
        lambda r: _merge_form(r.pool, r.owned_duplicate),
        _pool(302),
        True,
    ),
    Case(
        "undo",
        "POST",
        lambda r: f"/customers/merges/{r.merge.pk}/undo/",
        lambda r: {},
        _owned(302),
        True,
    ),
    Case(
        "merged-page",
        "GET",
        lambda r: f"/customers/{r.merged_away.pk}/",
        None,
        MERGED_PAGE,
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_merge_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    client = _client(org, actor)
    path = case.path(records)
    data = case.data(records) if case.data else None
    before = db_state()
    # when
    response = client.get(path) if case.method == "GET" else client.post(path, data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    expected = case.expected[actor]
    assert response.status_code == expected, (case.name, actor)
    if expected >= 400 or not case.writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_undo_is_a_post(org: Org) -> None:
    records = _records(org)
    before = db_state()
    response = login_client(org.admin).get(f"/customers/merges/{records.merge.pk}/undo/")
    assert response.status_code == 405
    assert db_state() == before


def test_unknown_merge_and_customer_ids_are_404(org: Org) -> None:
    records = _records(org)
    client = login_client(org.admin)
    assert client.post("/customers/merges/999999/undo/").status_code == 404
    assert client.get(f"/customers/{records.owned.pk}/merge/?with=999999").status_code == 404
    assert client.get(f"/customers/{records.owned.pk}/merge/?with=abc").status_code == 404
    assert client.get("/customers/999999/merge/").status_code == 404


def test_a_manager_cannot_merge_in_a_customer_outside_their_scope(org: Org) -> None:
    # given a manager of another branch, who writes pool customers but cannot see the rep's
    from tests.factories import UserFactory

    records = _records(org)
    manager = UserFactory(role="sales_manager", department=org.outsider.department)
    before = db_state()
    # when
    client = login_client(manager)
    compare = client.get(f"/customers/{records.pool.pk}/merge/?with={records.owned.pk}")
    response = client.post(
        f"/customers/{records.pool.pk}/merge/", _merge_form(records.pool, records.owned)
    )
    undo = client.post(f"/customers/merges/{records.merge.pk}/undo/")
    # then
    assert (compare.status_code, response.status_code, undo.status_code) == (404, 404, 404)
    assert db_state() == before
