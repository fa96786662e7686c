"""The merge pages without JavaScript: from the duplicates scan and from a customer page to the
compare page, the choices, the confirmation, the survivor's page with its message and "Undo
merge", the undo's report of fields that kept a newer value, and the merged customer's page and
recycle-bin entry pointing at the survivor."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from guanxi.customers import services
from guanxi.customers.models import Contact, Customer, CustomerMerge
from tests.conftest import Org, login_client
from tests.customers.conftest import HUAWEI_CODE, db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(org: Org) -> tuple[Customer, Customer]:
    survivor = make_customer(org.rep, "华为技术有限公司", address="深圳市龙岗区坂田")
    merged = make_customer(
        org.rep,
        "华为技术（深圳）有限公司",
        credit_code=HUAWEI_CODE,
        website="https://www.huawei.com",
    )
    make_contact(merged, "李四", phones=["13912345678"])
    return survivor, merged


def _compare_url(survivor: Customer, merged: Customer) -> str:
    return f"/customers/{survivor.pk}/merge/?with={merged.pk}"


def _form(survivor: Customer, merged: Customer, **values: str) -> dict[str, Any]:
    survivor.refresh_from_db()
    merged.refresh_from_db()
    data: dict[str, Any] = {
        "with": merged.pk,
        "version_survivor": survivor.version,
        "version_merged": merged.version,
        "confirm": "on",
    }
    data.update({f"value_{name}": side for name, side in values.items()})
    return data


def test_scan_page_links_each_duplicate_to_the_compare_page(org: Org, pair: Any) -> None:
    survivor = make_customer(org.rep, "腾讯科技有限公司")
    duplicate = make_customer(org.rep, "腾讯科技(深圳)有限公司")
    body = login_client(org.manager, language="en").get("/customers/duplicates/").content.decode()
    assert f'href="/customers/{survivor.pk}/merge/?with={duplicate.pk}"' in body
    # the first of each group is the one offered to keep; it has no link of its own
    assert f"?with={survivor.pk}" not in body


def test_customer_page_offers_merge_to_managers_only(org: Org, pair: Any) -> None:
    survivor, _merged = pair
    url = f"/customers/{survivor.pk}/"
    assert f"/customers/{survivor.pk}/merge/" in login_client(org.manager).get(url).content.decode()
    assert f"/customers/{survivor.pk}/merge/" not in login_client(org.rep).get(url).content.decode()


def test_choose_page_lists_likely_duplicates_and_searches(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = login_client(org.manager, language="en")
    body = client.get(f"/customers/{survivor.pk}/merge/").content.decode()
    assert f"?with={merged.pk}" in body
    assert f"?with={survivor.pk}" not in body
    searched = client.get(f"/customers/{survivor.pk}/merge/?q=lisi").content.decode()
    assert f"?with={merged.pk}" in searched


def test_compare_page_shows_both_records_with_a_choice_per_differing_field(
    org: Org, pair: Any
) -> None:
    survivor, merged = pair
    response = login_client(org.manager, language="en").get(_compare_url(survivor, merged))
    assert response.status_code == 200
    body = response.content.decode()
    rows = {row.name: row for row in response.context["preview"].rows}
    # the survivor's non-empty value by default, else the other's
    assert rows["address"].differs and rows["address"].default == "survivor"
    assert rows["website"].differs and rows["website"].default == "merged"
    assert not rows["kind"].differs
    assert re.search(r'name="value_website" value="merged" checked', body)
    assert re.search(r'name="value_address" value="survivor" checked', body)
    assert 'name="value_kind"' not in body
    assert "1 contact" in body and "0 needs" in body
    assert f'href="/customers/{merged.pk}/merge/?with={survivor.pk}"' in body  # swap


def test_merge_without_confirmation_is_refused_and_changes_nothing(org: Org, pair: Any) -> None:
    survivor, merged = pair
    data = _form(survivor, merged)
    del data["confirm"]
    before = db_state()
    response = login_client(org.manager, language="en").post(_compare_url(survivor, merged), data)
    assert response.status_code == 400
    assert "Tick the box to confirm the merge." in response.content.decode()
    assert db_state() == before


def test_merge_then_undo_from_the_survivors_page(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = login_client(org.manager, language="en")
    # when the manager keeps the survivor's name and takes the duplicate's website
    response = client.post(
        _compare_url(survivor, merged), _form(survivor, merged, name="survivor", website="merged")
    )
    # then the survivor's page says so and offers the undo
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{survivor.pk}/"
    page = client.get(response["Location"])
    body = page.content.decode()
    assert "“华为技术（深圳）有限公司” was merged into this customer. You can undo it until" in body
    merge = CustomerMerge.objects.get()
    assert f"/customers/merges/{merge.pk}/undo/" in body
    assert 'data-testid="history-merged-from"' in body  # the duplicate's history is here
    survivor.refresh_from_db()
    assert survivor.website == "https://www.huawei.com"
    assert Contact.objects.get().customer_id == survivor.pk
    # when undone
    undone = client.post(f"/customers/merges/{merge.pk}/undo/")
    assert undone.status_code == 302
    body = client.get(undone["Location"]).content.decode()
    assert (
        "The merge was undone: “华为技术（深圳）有限公司” is a customer of its own again." in body
    )
    assert Customer.objects.filter(pk=merged.pk).exists()
    assert Contact.objects.get().customer_id == merged.pk


def test_undo_reports_fields_changed_since(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = login_client(org.manager, language="en")
    client.post(_compare_url(survivor, merged), _form(survivor, merged))
    survivor.refresh_from_db()
    services.customer_update(actor=org.rep, customer=survivor, data={"website": "https://x.cn"})
    merge = CustomerMerge.objects.get()
    response = client.post(f"/customers/merges/{merge.pk}/undo/", follow=True)
    body = response.content.decode()
    assert "This field was changed after the merge and keeps its newer value: website." in body
    survivor.refresh_from_db()
    assert survivor.website == "https://x.cn"


def test_undo_outside_the_window_is_a_message_and_changes_nothing(
    org: Org, pair: Any, settings: Any
) -> None:
    survivor, merged = pair
    client = login_client(org.manager, language="en")
    client.post(_compare_url(survivor, merged), _form(survivor, merged))
    merge = CustomerMerge.objects.get()
    CustomerMerge.objects.update(
        merged_at=timezone.now() - dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS + 1)
    )
    page = client.get(f"/customers/{survivor.pk}/").content.decode()
    assert "Can no longer be undone." in page
    assert f"/customers/merges/{merge.pk}/undo/" not in page
    before = db_state()
    response = client.post(f"/customers/merges/{merge.pk}/undo/", follow=True)
    assert "This merge can no longer be undone" in response.content.decode()
    assert db_state() == before


def test_a_stale_compare_page_is_a_conflict_that_shows_the_records_anew(
    org: Org, pair: Any
) -> None:
    survivor, merged = pair
    data = _form(survivor, merged)
    services.customer_update(actor=org.rep, customer=merged, data={"address": "北京市海淀区"})
    before = db_state()
    response = login_client(org.manager, language="en").post(_compare_url(survivor, merged), data)
    assert response.status_code == 409
    body = response.content.decode()
    assert "One of the two customers was changed after you compared them." in body
    merged.refresh_from_db()
    assert f'name="version_merged" value="{merged.version}"' in body
    assert db_state() == before


def test_a_choice_that_fails_validation_is_shown_on_its_row(org: Org, pair: Any) -> None:
    survivor, merged = pair
    third = make_customer(org.rep, "第三家")
    Customer.objects.filter(pk=third.pk).update(credit_code=HUAWEI_CODE)
    before = db_state()
    response = login_client(org.manager, language="en").post(
        _compare_url(survivor, merged), _form(survivor, merged, credit_code="merged")
    )
    assert response.status_code == 400
    assert "already has this unified social credit code" in response.content.decode()
    assert db_state() == before


def test_an_already_merged_customer_cannot_be_compared_again(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = login_client(org.manager, language="en")
    client.post(_compare_url(survivor, merged), _form(survivor, merged))
    before = db_state()
    response = client.get(_compare_url(survivor, merged))
    assert response.status_code == 409
    assert "has already been merged into another customer" in response.content.decode()
    same = client.get(_compare_url(survivor, survivor), follow=True)
    assert "a customer cannot be merged into itself" in same.content.decode()
    assert db_state() == before


def test_the_merged_customers_page_leads_to_the_survivor(org: Org, pair: Any) -> None:
    survivor, merged = pair
    login_client(org.manager).post(_compare_url(survivor, merged), _form(survivor, merged))
    response = login_client(org.rep, language="en").get(f"/customers/{merged.pk}/", follow=True)
    assert response.redirect_chain == [(f"/customers/{survivor.pk}/", 302)]
    assert "was merged into 华为技术有限公司" in response.content.decode()
    # someone who could not see it gets the plain 404
    assert login_client(org.outsider).get(f"/customers/{merged.pk}/").status_code == 404


def test_recycle_bin_restore_of_a_merged_customer_points_to_the_undo(org: Org, pair: Any) -> None:
    survivor, merged = pair
    client = login_client(org.manager, language="en")
    client.post(_compare_url(survivor, merged), _form(survivor, merged))
    before = db_state()
    response = client.post(f"/recycle-bin/customers.customer/{merged.pk}/restore/", follow=True)
    body = response.content.decode()
    assert "was merged into “华为技术有限公司”. To separate them again, undo the merge" in body
    assert db_state() == before
