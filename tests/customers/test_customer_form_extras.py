"""The customer form's parent-company picker and its lookup, and the contact's consent time."""

from __future__ import annotations

import pytest
from django.test import Client

from guanxi.customers.models import Customer
from tests.conftest import Org, login_client
from tests.customers.conftest import db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db


def _form(**fields: object) -> dict[str, object]:
    return {
        "kind": "company",
        "name": "华为终端有限公司",
        "source": "other",
        "lifecycle": "potential",
        "account_class": "none",
        **fields,
    }


def test_the_lookup_finds_by_pinyin_inside_the_data_scope_only(org: Org) -> None:
    mine = make_customer(org.rep, "华为技术有限公司")
    make_customer(org.other_rep, "华为软件有限公司", actor=org.manager)
    client = login_client(org.rep)
    found = client.get("/customers/lookup/", {"q": "hwjs"}).json()["results"]
    assert found == [{"id": mine.pk, "name": "华为技术有限公司"}]
    names = [
        row["name"] for row in client.get("/customers/lookup/", {"q": "华为"}).json()["results"]
    ]
    assert names == ["华为技术有限公司"]
    manager = login_client(org.manager).get("/customers/lookup/", {"q": "华为"}).json()
    assert len(manager["results"]) == 2
    assert client.get("/customers/lookup/", {"q": ""}).json() == {"results": []}


def test_the_lookup_needs_a_sign_in(org: Org) -> None:
    response = Client().get("/customers/lookup/", {"q": "华为"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert login_client(org.rep).post("/customers/lookup/", {"q": "x"}).status_code == 405


def test_a_parent_company_is_chosen_in_the_form(org: Org) -> None:
    parent = make_customer(org.rep, "华为投资控股有限公司")
    client = login_client(org.rep)
    response = client.post("/customers/new/", _form(parent=parent.pk))
    assert response.status_code == 302
    child = Customer.objects.get(name="华为终端有限公司")
    assert child.parent == parent
    edit = client.get(f"/customers/{child.pk}/edit/").content.decode()
    assert f'<option value="{parent.pk}" selected>华为投资控股有限公司</option>' in edit


def test_a_parent_outside_the_scope_is_refused_without_showing_its_name(org: Org) -> None:
    hidden = make_customer(org.other_rep, "保密母公司", actor=org.manager)
    before = db_state()
    response = login_client(org.rep).post(
        "/customers/new/", _form(parent=hidden.pk), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose a customer you can see as the parent company." in body
    assert "保密母公司" not in body
    assert db_state() == before


def test_the_consent_time_is_kept_in_the_contact(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    response = client.post(
        f"/customers/{customer.pk}/contacts/new/",
        {
            "name": "张三",
            "decision_role": "user",
            "legal_basis": "consent",
            "consent_note": "展会登记表勾选同意",
            "consent_at": "2026-11-20T09:30",
        },
    )
    assert response.status_code == 302
    contact = customer.contacts.get()
    # Entered in Asia/Shanghai, stored in UTC.
    assert contact.consent_at.isoformat() == "2026-11-20T01:30:00+00:00"
    edit = client.get(f"/customers/contacts/{contact.pk}/edit/").content.decode()
    assert 'value="2026-11-20T09:30"' in edit


def test_a_bad_consent_time_is_a_field_error(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四")
    before = db_state()
    response = login_client(org.rep).post(
        f"/customers/{customer.pk}/contacts/new/",
        {"name": "张三", "decision_role": "user", "legal_basis": "consent", "consent_at": "昨天"},
    )
    assert response.status_code == 400
    assert db_state() == before
