"""A contact's opt-out of surveys and marketing (拒收营销): the services set and clear the flag with
its time and audit both; the API and the contact form carry it; the customer's page shows it.
Who it keeps surveys from is in tests/feedback/test_survey_opt_out.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from freezegun import freeze_time

from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.forms import ContactForm
from guanxi.customers.models import Contact
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db

OPTED_OUT_AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def contact_entries(contact: Contact) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            object_type="customers.contact", object_id=str(contact.pk)
        ).order_by("pk")
    )


# --- the services -------------------------------------------------------------------------------


def test_a_new_contact_is_not_opted_out(org: Org) -> None:
    contact = make_contact(make_customer(org.rep), "张三", phones=["13800138000"])
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (False, None)
    (entry,) = contact_entries(contact)
    assert entry.changes["marketing_opt_out"] == {"before": None, "after": False}


def test_a_contact_filed_as_opted_out_records_when(org: Org) -> None:
    with freeze_time(OPTED_OUT_AT):
        contact = make_contact(make_customer(org.rep), "张三", marketing_opt_out=True)
    contact.refresh_from_db()
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (True, OPTED_OUT_AT)
    (entry,) = contact_entries(contact)
    assert entry.changes["marketing_opt_out"] == {"before": None, "after": True}
    assert entry.changes["marketing_opt_out_at"]["after"] is not None


def test_opting_out_records_when_and_opting_back_in_clears_it_both_audited(org: Org) -> None:
    # given
    contact = make_contact(make_customer(org.rep), "张三", phones=["13800138000"])
    # when the owner records the opt-out
    with freeze_time(OPTED_OUT_AT):
        contact = services.contact_update(
            actor=org.rep, contact=contact, data={"marketing_opt_out": True}
        )
    # then the flag and its time are stored, and audited together
    contact.refresh_from_db()
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (True, OPTED_OUT_AT)
    entry = contact_entries(contact)[-1]
    assert entry.action == "update" and entry.actor == org.rep
    assert entry.changes["marketing_opt_out"] == {"before": False, "after": True}
    assert entry.changes["marketing_opt_out_at"]["before"] is None
    assert entry.changes["marketing_opt_out_at"]["after"] is not None
    # when the person agrees again
    contact = services.contact_update(
        actor=org.rep, contact=contact, data={"marketing_opt_out": False}
    )
    # then the time goes with the flag
    contact.refresh_from_db()
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (False, None)
    entry = contact_entries(contact)[-1]
    assert entry.changes["marketing_opt_out"] == {"before": True, "after": False}
    assert entry.changes["marketing_opt_out_at"]["after"] is None


def test_sending_the_flag_it_already_has_keeps_the_first_time(org: Org) -> None:
    with freeze_time(OPTED_OUT_AT):
        contact = make_contact(make_customer(org.rep), "张三", marketing_opt_out=True)
    entries = len(contact_entries(contact))
    contact = services.contact_update(
        actor=org.rep, contact=contact, data={"marketing_opt_out": True}
    )
    contact.refresh_from_db()
    assert contact.marketing_opt_out_at == OPTED_OUT_AT
    assert len(contact_entries(contact)) == entries


def test_a_flag_that_is_not_true_or_false_is_refused_and_changes_nothing(org: Org) -> None:
    contact = make_contact(make_customer(org.rep), "张三", marketing_opt_out=True)
    before = db_state()
    for value in (None, "no", 0):
        with pytest.raises(ValidationError) as caught:
            services.contact_update(
                actor=org.rep, contact=contact, data={"marketing_opt_out": value}
            )
        assert caught.value.message_dict == {"marketing_opt_out": ["Enter true or false."]}
    assert db_state() == before


# --- the API ------------------------------------------------------------------------------------


def test_the_api_files_reads_sets_and_clears_the_opt_out(org: Org) -> None:
    customer = make_customer(org.rep)
    client = ApiClient(org.rep)
    # filed as opted out
    created = client.post(
        "/api/v1/contacts",
        {
            "customer_id": customer.pk,
            "name": "张三",
            "phones": [{"number": "13800138000"}],
            "marketing_opt_out": True,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["marketing_opt_out"] is True and body["marketing_opt_out_at"] is not None
    contact = Contact.objects.get(pk=body["id"])
    assert contact.marketing_opt_out_at is not None
    # read back
    shown = client.get(f"/api/v1/contacts/{contact.pk}").json()
    assert (shown["marketing_opt_out"], shown["marketing_opt_out_at"]) == (
        True,
        body["marketing_opt_out_at"],
    )
    # cleared
    cleared = client.patch(
        f"/api/v1/contacts/{contact.pk}", {"version": contact.version, "marketing_opt_out": False}
    )
    assert cleared.status_code == 200, cleared.content
    assert (cleared.json()["marketing_opt_out"], cleared.json()["marketing_opt_out_at"]) == (
        False,
        None,
    )
    contact.refresh_from_db()
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (False, None)
    # set again
    with freeze_time(OPTED_OUT_AT):
        again = client.patch(
            f"/api/v1/contacts/{contact.pk}",
            {"version": contact.version, "marketing_opt_out": True},
        )
    assert again.status_code == 200, again.content
    contact.refresh_from_db()
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (True, OPTED_OUT_AT)
    entry = contact_entries(contact)[-1]
    assert entry.actor == org.rep
    assert entry.changes["marketing_opt_out"] == {"before": False, "after": True}


def test_the_api_refuses_a_null_flag_and_changes_nothing(org: Org) -> None:
    contact = make_contact(make_customer(org.rep), "张三", marketing_opt_out=True)
    client = ApiClient(org.rep, language="en")
    before = db_state()
    response = client.patch(
        f"/api/v1/contacts/{contact.pk}", {"version": contact.version, "marketing_opt_out": None}
    )
    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {"marketing_opt_out": ["Enter true or false."]}
    assert db_state() == before


def test_a_reader_cannot_change_the_opt_out_through_the_api(org: Org) -> None:
    contact = make_contact(make_customer(org.rep), "张三")
    client = ApiClient(org.analyst)
    before = db_state()
    response = client.patch(
        f"/api/v1/contacts/{contact.pk}", {"version": contact.version, "marketing_opt_out": True}
    )
    assert response.status_code == 403
    assert db_state() == before


# --- the form and the pages ---------------------------------------------------------------------


def _form_data(contact: Contact, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": contact.version,
        "name": contact.name,
        "decision_role": contact.decision_role,
        "phone_1": contact.phones[0]["number"],
        "phone_1_label": "mobile",
        "legal_basis": contact.legal_basis,
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not False}


def test_the_form_hands_the_flag_to_the_service() -> None:
    base = {"name": "张三", "decision_role": "other", "legal_basis": "consent"}
    ticked = ContactForm({**base, "marketing_opt_out": "on"})
    unticked = ContactForm(base)
    assert ticked.is_valid() and unticked.is_valid()
    assert ticked.service_data()["marketing_opt_out"] is True
    assert unticked.service_data()["marketing_opt_out"] is False


def test_the_edit_page_sets_and_clears_the_opt_out(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", phones=["13800138000"])
    client = login_client(org.rep)
    page = client.get(f"/customers/contacts/{contact.pk}/edit/")
    assert page.context["form"].initial["marketing_opt_out"] is False
    assert 'name="marketing_opt_out"' in page.content.decode()
    # ticked
    response = client.post(
        f"/customers/contacts/{contact.pk}/edit/", _form_data(contact, marketing_opt_out="on")
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.marketing_opt_out and contact.marketing_opt_out_at is not None
    assert (
        client.get(f"/customers/contacts/{contact.pk}/edit/")
        .context["form"]
        .initial["marketing_opt_out"]
    )
    # unticked
    response = client.post(f"/customers/contacts/{contact.pk}/edit/", _form_data(contact))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.marketing_opt_out, contact.marketing_opt_out_at) == (False, None)


def test_the_add_page_files_an_opted_out_contact(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    response = login_client(org.rep).post(
        f"/customers/{customer.pk}/contacts/new/",
        {
            "name": "李四",
            "decision_role": "user",
            "phone_1": "13800138000",
            "phone_1_label": "mobile",
            "legal_basis": "consent",
            "marketing_opt_out": "on",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get(customer=customer)
    assert contact.marketing_opt_out and contact.marketing_opt_out_at is not None


def test_the_customer_page_marks_opted_out_contacts(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    with freeze_time(OPTED_OUT_AT):
        make_contact(customer, "李四", phones=["13800138000"], marketing_opt_out=True)
    make_contact(customer, "王五", phones=["13900139000"])
    page = login_client(org.rep, language="en").get(f"/customers/{customer.pk}/").content.decode()
    assert page.count('data-testid="contact-opt-out"') == 1
    assert "No surveys or marketing" in page
    assert timezone.localtime(OPTED_OUT_AT).strftime("%Y") in page
