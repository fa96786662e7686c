"""The customer pages: list with search, filters, HTMX fragments and keyset "More"; detail with
masked contacts and the customer's history; create and edit with validation errors, the region
cascade and conflicts; contacts; soft delete."""

from __future__ import annotations

from typing import Any

import pytest

from guanxi.core.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Contact, Customer, Tag
from tests.conftest import Org, login_client
from tests.customers.conftest import HUAWEI_CODE, db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db

LIST = "/customers/"


def _names(response: Any) -> list[str]:
    return [c.name for c in response.context["page"].items]


def _customer_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "company",
        "name": "华为技术有限公司",
        "short_name": "华为",
        "credit_code": HUAWEI_CODE,
        "industry": "I",
        "province_code": "440000",
        "city_code": "440300",
        "district_code": "440305",
        "address": "坂田华为基地",
        "website": "https://www.huawei.com",
        "source": "trade_show",
        "source_note": "",
        "lifecycle": "intent",
        "account_class": "important",
        "first_contact_date": "2024-05-06",
        "first_needs": "园区网络改造",
        "tags": [],
    }
    data.update(overrides)
    return data


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_own_and_pool_customers_but_not_a_colleagues(org: Org) -> None:
    # given a customer of the rep, one of another rep and one in the pool
    make_customer(org.rep, "华为技术有限公司")
    make_customer(org.other_rep, "腾讯科技（深圳）有限公司")
    make_customer(None, "公海客户有限公司")
    # when the rep opens the list
    response = login_client(org.rep).get(LIST)
    # then they see theirs and the pool, with the pool badge
    assert response.status_code == 200
    assert sorted(_names(response)) == ["公海客户有限公司", "华为技术有限公司"]
    assert b'data-testid="pool-badge"' in response.content
    assert "腾讯".encode() not in response.content


@pytest.mark.parametrize("query", ["华为", "hwjs", "huawei", "8000"])
def test_search_finds_by_chinese_pinyin_initials_and_phone_tail(org: Org, query: str) -> None:
    huawei = make_customer(org.rep, "华为技术有限公司")
    make_contact(huawei, "李四", phones=["13800138000"])
    make_customer(org.rep, "阿里巴巴网络技术有限公司")
    response = login_client(org.rep).get(LIST, {"q": query})
    assert _names(response) == ["华为技术有限公司"]


def test_search_never_leaves_the_scope(org: Org) -> None:
    make_customer(org.other_rep, "华为技术有限公司")
    response = login_client(org.rep).get(LIST, {"q": "华为"})
    assert _names(response) == []
    assert b'data-testid="no-customers"' in response.content


def test_filters_narrow_the_list(org: Org) -> None:
    tag = Tag.objects.get(name="高意向客户")
    wanted = make_customer(
        org.rep,
        "华为技术有限公司",
        lifecycle="intent",
        account_class="important",
        industry="I",
        region_code="440305",
        source="trade_show",
        tags=[tag.pk],
    )
    make_customer(org.rep, "其他客户有限公司")
    make_customer(None, "公海客户有限公司", lifecycle="intent")
    client = login_client(org.rep)
    for params in (
        {"lifecycle": "intent", "in_pool": "0"},
        {"account_class": "important"},
        {"industry": "I"},
        {"region": "440000"},
        {"tag": str(tag.pk)},
        {"owner": str(org.rep.pk), "lifecycle": "intent"},
        {"source": "trade_show"},
    ):
        assert _names(client.get(LIST, params)) == [wanted.name], params
    assert _names(client.get(LIST, {"in_pool": "1"})) == ["公海客户有限公司"]


def test_bad_filter_values_are_ignored_not_an_error(org: Org) -> None:
    make_customer(org.rep, "华为技术有限公司")
    response = login_client(org.rep).get(
        LIST, {"tag": "abc", "owner": "x", "lifecycle": "nonsense", "in_pool": "maybe"}
    )
    assert response.status_code == 200
    assert _names(response) == ["华为技术有限公司"]


def test_htmx_filter_renders_the_results_fragment_and_varies_on_the_header(org: Org) -> None:
    make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    response = client.get(LIST, {"q": "华为"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<table" in body and "<html" not in body and "customer-filters" not in body
    assert "HX-Request" in response["Vary"]
    # and a history restore gets the whole page
    restore = client.get(
        LIST, {"q": "华为"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.content.decode()


def test_more_link_pages_with_a_cursor_and_htmx_appends_rows(org: Org) -> None:
    for n in range(55):
        make_customer(org.rep, f"客户{n:02d}有限公司")
    client = login_client(org.rep)
    first = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert len(first.context["page"].items) == 50
    next_query = first.context["next_query"]
    assert "cursor=" in next_query and "More customers" in first.content.decode()
    second = client.get(f"{LIST}?{next_query}", headers={"HX-Request": "true"})
    body = second.content.decode()
    assert len(second.context["page"].items) == 5
    assert "<table" not in body and "<tr" in body
    assert not set(_names(first)) & set(_names(second))


def test_a_tampered_cursor_says_so_and_shows_the_first_page(org: Org) -> None:
    make_customer(org.rep, "华为技术有限公司")
    response = login_client(org.rep).get(LIST, {"cursor": "garbage"})
    assert response.status_code == 200
    assert response.context["cursor_error"]
    assert _names(response) == ["华为技术有限公司"]


# Pinned: session, user, role setting, the data scope's department, the filter form's choices
# (industries, provinces, tags, owners), the pool policy, the count of customers due for
# recycling, the saved views, the page and its tags: thirteen. A query per row shows up here.
LIST_PAGE_QUERIES = 13


def test_list_query_count_does_not_grow_with_the_rows(
    org: Org, django_assert_num_queries: Any
) -> None:
    tag = Tag.objects.get(name="高意向客户")
    client = login_client(org.manager)
    client.get(LIST)

    def add(count: int, start: int) -> None:
        for n in range(count):
            make_customer(
                org.rep if n % 2 else None,
                f"客户{start + n}",
                actor=org.manager,
                industry="I",
                region_code="440305",
                tags=[tag.pk],
            )

    add(3, 0)
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        assert client.get(LIST).status_code == 200
    add(30, 100)
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        response = client.get(LIST)
    assert len(response.context["page"].items) == 33


# --- detail -------------------------------------------------------------------------------------


def test_detail_shows_fields_tags_contacts_and_history_to_the_owner(org: Org) -> None:
    tag = Tag.objects.get(name="高意向客户")
    customer = make_customer(org.rep, "华为技术有限公司", region_code="440305", tags=[tag.pk])
    make_contact(customer, "李四", phones=["13800138000"], email="lisi@example.com")
    services.customer_update(actor=org.rep, customer=customer, data={"lifecycle": "closed"})
    response = login_client(org.rep).get(f"/customers/{customer.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "广东省 深圳市 南山区" in body and "高意向客户" in body
    assert "+8613800138000" in body and "lisi@example.com" in body  # the owner sees them in full
    assert f"/customers/{customer.pk}/edit/" in body
    history = [entry for entry, _rows in response.context["history"]]
    assert [e.action for e in history] == ["update", "create"]
    assert "lifecycle" in history[0].changes


def test_detail_masks_contacts_for_a_reader_who_may_not_edit(org: Org) -> None:
    # given a pool customer with a contact
    customer = make_customer(None, "公海客户有限公司")
    make_contact(customer, "王五", phones=["13800138000"], email="wangwu@example.com")
    # when a rep (who may read the pool but not edit it) opens it
    response = login_client(org.rep).get(f"/customers/{customer.pk}/")
    body = response.content.decode()
    # then phone and e-mail are masked exactly as the API masks them, and no edit buttons show
    assert "13800138000" not in body and "wangwu@example.com" not in body
    assert "138****8000" in body
    assert f"/customers/{customer.pk}/edit/" not in body
    assert f"/customers/{customer.pk}/contacts/new/" not in body


def test_detail_history_leaves_out_contact_entries(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    response = login_client(org.rep).get(f"/customers/{customer.pk}/")
    assert {e.object_type for e, _rows in response.context["history"]} == {"customers.customer"}


# --- create -------------------------------------------------------------------------------------


def test_rep_creates_a_customer_for_themselves(org: Org) -> None:
    tag = Tag.objects.get(name="技术型客户")
    response = login_client(org.rep).post("/customers/new/", _customer_data(tags=[tag.pk]))
    customer = Customer.objects.get(name="华为技术有限公司")
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{customer.pk}/"
    assert customer.owner == org.rep and customer.department == org.east
    assert (customer.province_id, customer.city_id, customer.district_id) == (
        "440000",
        "440300",
        "440305",
    )
    assert customer.industry.code == "I" and list(customer.tags.all()) == [tag]
    assert customer.lifecycle == "intent" and str(customer.first_contact_date) == "2024-05-06"


def test_rep_form_has_no_owner_field_and_a_manager_may_file_into_the_pool(org: Org) -> None:
    assert "owner" not in login_client(org.rep).get("/customers/new/").context["form"].fields
    client = login_client(org.manager)
    assert "owner" in client.get("/customers/new/").context["form"].fields
    response = client.post("/customers/new/", _customer_data(owner=""))
    assert response.status_code == 302
    assert Customer.objects.get(name="华为技术有限公司").owner is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"credit_code": "914403001922038217"}, "credit_code"),
        ({"city_code": "110100"}, "city_code"),
        ({"province_code": "", "city_code": "440300", "district_code": ""}, "province_code"),
        ({"industry": "ZZ"}, "industry"),
        ({"lifecycle": "forever"}, "lifecycle"),
        ({"website": "not a url at all"}, "website"),
        ({"kind": "individual"}, "credit_code"),
    ],
)
def test_bad_input_shows_inline_errors_and_writes_nothing(
    org: Org, overrides: dict[str, Any], field: str
) -> None:
    before = db_state()
    response = login_client(org.rep).post("/customers/new/", _customer_data(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert db_state() == before


def test_errors_are_shown_in_the_users_language(org: Org) -> None:
    # the test suite reads English; a signed-in user without a preference gets Chinese
    response = login_client(org.rep).post("/customers/new/", _customer_data(name=""))
    assert response.status_code == 400
    assert "此项为必填项" in response.content.decode()


def test_region_refresh_without_javascript_saves_nothing_and_offers_the_cities(org: Org) -> None:
    before = db_state()
    data = _customer_data(city_code="", district_code="", refresh_regions="1")
    response = login_client(org.rep).post("/customers/new/", data)
    assert response.status_code == 200
    choices = dict(response.context["form"].fields["city_code"].widget.choices)
    assert choices["440300"] == "深圳市"
    assert db_state() == before


def test_region_options_endpoint_cascades(org: Org) -> None:
    client = login_client(org.rep)
    cities = client.get("/customers/regions/", {"province_code": "440000"}).content.decode()
    assert '<option value="440300">深圳市</option>' in cities
    assert 'hx-swap-oob="innerHTML"' in cities  # the district select is emptied too
    districts = client.get(
        "/customers/regions/", {"province_code": "440000", "city_code": "440300"}
    ).content.decode()
    assert '<option value="440305">南山区</option>' in districts
    assert "深圳市" not in districts


# --- edit ---------------------------------------------------------------------------------------


def test_edit_saves_only_what_changed(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司", region_code="440305", industry="I")
    client = login_client(org.rep)
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(lifecycle="closed", district_code="440304")
    tag = Tag.objects.get(name="长期合作客户")
    data["tags"] = [tag.pk]
    response = client.post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.lifecycle == "closed" and customer.district_id == "440304"
    assert list(customer.tags.all()) == [tag]
    changes = AuditEntry.objects.filter(object_id=str(customer.pk), action="update")
    changed_fields = {name for entry in changes for name in entry.changes}
    assert changed_fields == {"lifecycle", "district", "tags"}


def test_stale_edit_shows_the_conflict_and_saves_nothing(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    data = {
        k: v
        for k, v in client.get(f"/customers/{customer.pk}/edit/").context["form"].initial.items()
        if v is not None
    }
    # someone else saves meanwhile
    services.customer_update(actor=org.manager, customer=customer, data={"address": "深圳"})
    before = db_state()
    data.update(address="北京", tags=[Tag.objects.get(name="价格敏感型").pk])
    response = client.post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-testid="conflict"' in body and "北京" in body and "深圳" in body
    assert db_state() == before


def test_edit_without_a_version_is_refused(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    response = login_client(org.rep).post(
        f"/customers/{customer.pk}/edit/", _customer_data(name="改名")
    )
    assert response.status_code == 400
    assert db_state() == before


# --- delete -------------------------------------------------------------------------------------


def test_delete_moves_the_customer_to_the_recycle_bin(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    assert b"data-confirm" in client.get(f"/customers/{customer.pk}/").content
    response = client.post(f"/customers/{customer.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Customer.objects.filter(pk=customer.pk).exists()
    recycle = client.get("/recycle-bin/").content.decode()
    assert "华为技术有限公司" in recycle


def test_delete_of_a_parent_company_is_refused_with_a_message(org: Org) -> None:
    parent = make_customer(org.rep, "华为投资控股有限公司")
    make_customer(org.rep, "华为技术有限公司", parent=parent.pk)
    before = db_state()
    response = login_client(org.rep).post(f"/customers/{parent.pk}/delete/", follow=True)
    assert response.redirect_chain == [(f"/customers/{parent.pk}/", 302)]
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert db_state() == before


# --- contacts -----------------------------------------------------------------------------------


def _contact_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "李四",
        "title": "采购经理",
        "decision_role": "decision_maker",
        "phone_1": "13800138000",
        "phone_1_label": "mobile",
        "phone_2": "",
        "phone_2_label": "mobile",
        "phone_3": "0755-28780808",
        "phone_3_label": "work",
        "email": "lisi@example.com",
        "wechat": "lisi_wx",
        "address": "",
        "birthday": "",
        "preferred_channel": "wechat",
        "legal_basis": "consent",
        "consent_note": "展会现场签字同意",
    }
    data.update(overrides)
    return data


def test_contact_create_stores_e164_phones_and_refreshes_search(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    client = login_client(org.rep)
    response = client.post(f"/customers/{customer.pk}/contacts/new/", _contact_data())
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    contact = Contact.objects.get(customer=customer)
    assert [p["number"] for p in contact.phones] == ["+8613800138000", "+8675528780808"]
    assert [p["label"] for p in contact.phones] == ["mobile", "work"]
    assert _names(client.get(LIST, {"q": "8000"})) == ["华为技术有限公司"]


def test_contact_bad_phone_error_lands_on_its_input(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    response = login_client(org.rep).post(
        f"/customers/{customer.pk}/contacts/new/", _contact_data(phone_3="12345")
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["phone_3"]
    assert db_state() == before


def test_contact_edit_and_conflict(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", phones=["13800138000"])
    client = login_client(org.rep)
    initial = client.get(f"/customers/contacts/{contact.pk}/edit/").context["form"].initial
    data = {**_contact_data(), **{k: v for k, v in initial.items() if v is not None}}
    data.update(title="总监", phone_2="13900139000", phone_3="")
    response = client.post(f"/customers/contacts/{contact.pk}/edit/", data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.title == "总监"
    assert [p["number"] for p in contact.phones] == ["+8613800138000", "+8613900139000"]
    # the same stale form again: a conflict, nothing saved
    before = db_state()
    response = client.post(f"/customers/contacts/{contact.pk}/edit/", {**data, "title": "董事"})
    assert response.status_code == 409
    assert db_state() == before


def test_contact_delete(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", phones=["13800138000"])
    response = login_client(org.rep).post(f"/customers/contacts/{contact.pk}/delete/")
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert _names(login_client(org.rep).get(LIST, {"q": "8000"})) == []


def test_navigation_links_to_the_customer_list(org: Org) -> None:
    body = login_client(org.rep).get("/").content.decode()
    assert 'href="/customers/"' in body
    assert login_client(org.rep).get("/areas/customers/").status_code == 404
    assert login_client(org.rep).get("/areas/sales/").status_code == 200
