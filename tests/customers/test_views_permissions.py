"""Permission matrix of every customer page: anonymous, each of the seven roles and an outsider.

The records: a customer owned by the rep (in 华东组 under 销售部) with a contact, and a pool
customer with a contact. Pool customers are readable by every signed-in user and writable by
managers and administrators; owned ones are 404 outside the data scope and 403 where they are
visible but read-only. A denied request changes nothing; an allowed write changes something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

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
    owned_contact: Any
    pool: Any
    pool_contact: Any


def _records(org: Org) -> Records:
    owned = make_customer(org.rep, "华为技术有限公司")
    pool = make_customer(None, "公海客户有限公司")
    return Records(
        owned=owned,
        owned_contact=make_contact(owned, "李四", phones=["13800138000"]),
        pool=pool,
        pool_contact=make_contact(pool, "王五", phones=["13900139000"]),
    )


def _client(org: Org, key: str) -> Client:
    if key == "anonymous":
        return Client()
    user = org.outsider if key == "outsider" else org.by_role()[key]
    return login_client(user)


def _customer_form(customer: Any) -> dict[str, Any]:
    return {
        "version": customer.version,
        "kind": customer.kind,
        "name": customer.name + "（改）",
        "source": customer.source,
        "lifecycle": "closed",
        "account_class": customer.account_class,
        "owner": customer.owner_id or "",
    }


def _contact_form(contact: Any) -> dict[str, Any]:
    return {
        "version": contact.version,
        "name": contact.name,
        "title": "总监",
        "decision_role": contact.decision_role,
        "phone_1": contact.phones[0]["number"],
        "phone_1_label": "mobile",
        "legal_basis": contact.legal_basis,
    }


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]  # every signed-in actor's status
    # whether an allowed request changes the database; or the actors for whom it does (a reveal
    # writes an audit entry, except for the owner, who sees the data in full anyway)
    writes: bool | frozenset[str]


EVERYONE_200 = dict.fromkeys(ROLES, 200)
# The rep's customer: the rep, the sales manager (subtree) and the administrator write it; the
# analyst (scope "all") reads it; the key-account manager, service staff and the outsider do not
# see it at all.
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


def _owned_write(ok: int) -> dict[str, int]:
    return {**OWNED_READ, "administrator": ok, "sales_manager": ok, "sales_rep": ok, "analyst": 403}


def _pool_write(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "administrator": ok, "sales_manager": ok}


def _creators(ok: int) -> dict[str, int]:
    denied = {"service_agent", "department_handler", "analyst"}
    return {key: 403 if key in denied else ok for key in ROLES}


# Revealing the contact of the rep's customer: those who see it and whose role may reveal (the
# owner gets the data without a log entry; the analyst's role may not); the rest do not see it.
REVEAL_OWNED = {**OWNED_READ, "administrator": 302, "sales_manager": 302, "sales_rep": 302}
REVEAL_OWNED["analyst"] = 403
REVEALERS = frozenset({"administrator", "sales_manager"})
# A pool customer's contacts stay masked until claimed, for every role that may reveal (409).
REVEAL_POOL = {**dict.fromkeys(ROLES, 409), "analyst": 403, "department_handler": 403}


def _new_customer(records: Records) -> dict[str, Any]:
    return {
        "kind": "company",
        "name": "新客户有限公司",
        "source": "other",
        "lifecycle": "potential",
        "account_class": "none",
    }


def _new_contact(records: Records) -> dict[str, Any]:
    return {"name": "赵六", "decision_role": "user", "legal_basis": "consent"}


CASES = [
    Case("list", "GET", lambda r: "/customers/", None, EVERYONE_200, False),
    Case("list-search", "GET", lambda r: "/customers/?q=hw", None, EVERYONE_200, False),
    Case(
        "region-options",
        "GET",
        lambda r: "/customers/regions/?province_code=440000",
        None,
        EVERYONE_200,
        False,
    ),
    Case("detail-owned", "GET", lambda r: f"/customers/{r.owned.pk}/", None, OWNED_READ, False),
    Case("detail-pool", "GET", lambda r: f"/customers/{r.pool.pk}/", None, EVERYONE_200, False),
    Case("create-get", "GET", lambda r: "/customers/new/", None, _creators(200), False),
    Case("create", "POST", lambda r: "/customers/new/", _new_customer, _creators(302), True),
    Case(
        "edit-get-owned",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/edit/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "edit-owned",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/edit/",
        lambda r: _customer_form(r.owned),
        _owned_write(302),
        True,
    ),
    Case(
        "edit-get-pool",
        "GET",
        lambda r: f"/customers/{r.pool.pk}/edit/",
        None,
        _pool_write(200),
        False,
    ),
    Case(
        "edit-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/edit/",
        lambda r: _customer_form(r.pool),
        _pool_write(302),
        True,
    ),
    Case(
        "delete-owned",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/delete/",
        lambda r: {},
        _owned_write(302),
        True,
    ),
    Case(
        "delete-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/delete/",
        lambda r: {},
        _pool_write(302),
        True,
    ),
    Case(
        "contact-create-get",
        "GET",
        lambda r: f"/customers/{r.owned.pk}/contacts/new/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "contact-create-owned",
        "POST",
        lambda r: f"/customers/{r.owned.pk}/contacts/new/",
        _new_contact,
        _owned_write(302),
        True,
    ),
    Case(
        "contact-create-pool",
        "POST",
        lambda r: f"/customers/{r.pool.pk}/contacts/new/",
        _new_contact,
        _pool_write(302),
        True,
    ),
    # The edit form shows the real values: a manager or administrator asks for the reveal with a
    # POST first (opening the page logs nothing); the pool stays masked until claimed.
    Case(
        "contact-edit-get",
        "GET",
        lambda r: f"/customers/contacts/{r.owned_contact.pk}/edit/",
        None,
        _owned_write(200),
        False,
    ),
    Case(
        "contact-edit-reveal",
        "POST",
        lambda r: f"/customers/contacts/{r.owned_contact.pk}/edit/",
        lambda r: {"reveal": "1"},
        _owned_write(302),
        REVEALERS,
    ),
    Case(
        "contact-edit-get-pool",
        "GET",
        lambda r: f"/customers/contacts/{r.pool_contact.pk}/edit/",
        None,
        _pool_write(200),
        False,
    ),
    Case(
        "contact-edit-reveal-pool",
        "POST",
        lambda r: f"/customers/contacts/{r.pool_contact.pk}/edit/",
        lambda r: {"reveal": "1"},
        _pool_write(409),
        False,
    ),
    Case(
        "contact-reveal-owned",
        "POST",
        lambda r: f"/customers/contacts/{r.owned_contact.pk}/reveal/",
        lambda r: {},
        REVEAL_OWNED,
        REVEALERS,
    ),
    Case(
        "contact-reveal-pool",
        "POST",
        lambda r: f"/customers/contacts/{r.pool_contact.pk}/reveal/",
        lambda r: {},
        REVEAL_POOL,
        False,
    ),
    Case(
        "contact-edit-owned",
        "POST",
        lambda r: f"/customers/contacts/{r.owned_contact.pk}/edit/",
        lambda r: _contact_form(r.owned_contact),
        _owned_write(302),
        True,
    ),
    Case(
        "contact-edit-pool",
        "POST",
        lambda r: f"/customers/contacts/{r.pool_contact.pk}/edit/",
        lambda r: _contact_form(r.pool_contact),
        _pool_write(302),
        True,
    ),
    Case(
        "contact-delete-owned",
        "POST",
        lambda r: f"/customers/contacts/{r.owned_contact.pk}/delete/",
        lambda r: {},
        _owned_write(302),
        True,
    ),
    Case(
        "contact-delete-pool",
        "POST",
        lambda r: f"/customers/contacts/{r.pool_contact.pk}/delete/",
        lambda r: {},
        _pool_write(302),
        True,
    ),
    # --- duplicates: the scan is for managers and administrators; filing a likely duplicate of
    # the rep's customer shows the warning (409) and writes nothing until the box is ticked.
    Case(
        "duplicates-scan",
        "GET",
        lambda r: "/customers/duplicates/",
        None,
        _pool_write(200),
        False,
    ),
    Case(
        "duplicates-scan-phone",
        "GET",
        lambda r: "/customers/duplicates/?by=phone",
        None,
        _pool_write(200),
        False,
    ),
    Case(
        "create-duplicate",
        "POST",
        lambda r: "/customers/new/",
        lambda r: {**_new_customer(r), "name": "北京华为技术有限公司"},
        _creators(409),
        False,
    ),
    Case(
        "create-duplicate-confirmed",
        "POST",
        lambda r: "/customers/new/",
        lambda r: {**_new_customer(r), "name": "北京华为技术有限公司", "allow_duplicates": "on"},
        _creators(302),
        True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_customer_page_permissions(org: Org, case: Case, actor: str) -> None:
    check_page_case(org, case, actor)


def check_page_case(org: Org, case: Case, actor: str) -> None:
    """One cell of a page matrix: the status, and that only an allowed write changes data."""
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
    assert response.status_code == expected, (case.name, actor, getattr(response, "context", None))
    writes = case.writes if isinstance(case.writes, bool) else actor in case.writes
    if expected >= 400 or not writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_read_only_viewers_see_no_write_buttons(org: Org) -> None:
    records = _records(org)
    body = login_client(org.analyst).get(f"/customers/{records.owned.pk}/").content.decode()
    assert f"/customers/{records.owned.pk}/edit/" not in body
    assert f"/customers/{records.owned.pk}/delete/" not in body
    assert "13800138000" not in body and "138****8000" in body
    assert "/customers/new/" not in login_client(org.analyst).get("/customers/").content.decode()


def test_unknown_customer_is_404(org: Org) -> None:
    assert login_client(org.admin).get("/customers/999999/").status_code == 404
    assert login_client(org.admin).get("/customers/contacts/999999/edit/").status_code == 404
