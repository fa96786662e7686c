"""The customer archive through the API: data scope, search, filters, paging, errors, masking."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.customers.models import Customer, Tag
from tests.conftest import ApiClient
from tests.customers.conftest import HUAWEI_CODE, db_state, make_contact, make_customer

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content[:500]
    return {item["id"] for item in response.json()["items"]}


@pytest.fixture
def book(org):
    """Customers of rep1, of rep2 (华北), of the outsider (海外部), and one in the pool."""
    return {
        "rep": make_customer(org.rep, "华东客户"),
        "other": make_customer(org.other_rep, "华北客户"),
        "outsider": make_customer(org.outsider, "海外客户"),
        "pool": make_customer(None, "公海客户"),
    }


@pytest.mark.parametrize(
    ("actor", "sees"),
    [
        ("rep", {"rep", "pool"}),
        ("other_rep", {"other", "pool"}),
        ("manager", {"rep", "other", "pool"}),
        ("admin", {"rep", "other", "outsider", "pool"}),
        ("analyst", {"rep", "other", "outsider", "pool"}),
        ("outsider", {"outsider", "pool"}),
        ("agent", {"pool"}),
    ],
)
def test_the_list_holds_the_data_scope_plus_the_pool(org, book, actor, sees):
    client = ApiClient(getattr(org, actor))
    assert ids(client.get("/api/v1/customers")) == {book[key].pk for key in sees}


def test_the_outsider_sees_nothing_of_the_organisations_owned_customers(org, book):
    client = ApiClient(org.outsider)
    for key in ("rep", "other"):
        assert client.get(f"/api/v1/customers/{book[key].pk}").status_code == 404
    assert ids(client.get("/api/v1/customers", q="华东")) == set()


@pytest.fixture
def huawei(org):
    customer = make_customer(
        org.rep, "华为技术有限公司", short_name="华为", credit_code=HUAWEI_CODE
    )
    make_contact(customer, "李四", phones=["13800138000"])
    make_customer(org.rep, "腾讯科技")
    return customer


@pytest.mark.parametrize(
    "query", ["华为", "华为技术", "hwjs", "huawei", "8000", "13800138000", "李四", "lisi"]
)
def test_search_finds_the_company_by_chinese_pinyin_initials_phone_tail_and_contact(
    org, huawei, query
):
    assert ids(ApiClient(org.rep).get("/api/v1/customers", q=query)) == {huawei.pk}


@pytest.mark.parametrize("query", ["华为终端", "hwzd", "9000", "!!!"])
def test_search_does_not_find_it_by_other_text(org, huawei, query):
    assert huawei.pk not in ids(ApiClient(org.rep).get("/api/v1/customers", q=query))


def test_search_finds_by_credit_code(org, huawei):
    assert ids(ApiClient(org.rep).get("/api/v1/customers", q=HUAWEI_CODE.lower())) == {huawei.pk}


def test_search_never_returns_rows_outside_the_scope(org, huawei):
    # given the same company name filed by someone the rep cannot see
    theirs = make_customer(org.other_rep, "华为技术有限公司")
    make_contact(theirs, "李四", phones=["13800138000"])
    # then the rep finds only their own, the manager both, the outsider neither
    assert ids(ApiClient(org.rep).get("/api/v1/customers", q="8000")) == {huawei.pk}
    assert ids(ApiClient(org.manager).get("/api/v1/customers", q="8000")) == {huawei.pk, theirs.pk}
    assert ids(ApiClient(org.outsider).get("/api/v1/customers", q="华为")) == set()
    assert ids(ApiClient(org.outsider).get("/api/v1/contacts", q="8000")) == set()


def test_a_deleted_contact_no_longer_finds_its_customer(org, huawei):
    contact = huawei.contacts.get()
    client = ApiClient(org.rep)
    assert client.delete(f"/api/v1/contacts/{contact.pk}").status_code == 204
    assert ids(client.get("/api/v1/customers", q="8000")) == set()
    assert ids(client.get("/api/v1/customers", q="华为")) == {huawei.pk}


def test_a_renamed_customer_is_found_by_its_new_name_only(org, huawei):
    client = ApiClient(org.rep)
    response = client.patch(
        f"/api/v1/customers/{huawei.pk}", {"version": huawei.version, "name": "荣耀终端有限公司"}
    )
    assert response.status_code == 200, response.content
    assert ids(client.get("/api/v1/customers", q="荣耀")) == {huawei.pk}
    assert ids(client.get("/api/v1/customers", q="华为技术")) == set()


def test_contacts_search_their_own_key(org, huawei):
    client = ApiClient(org.rep)
    found = client.get("/api/v1/contacts", q="8000").json()["items"]
    assert [c["name"] for c in found] == ["李四"]


def test_filters(org):
    tag = Tag.objects.get(name="高意向客户")
    a = make_customer(org.rep, "甲", lifecycle="intent", region_code="440305", industry="C")
    b = make_customer(
        org.rep, "乙", lifecycle="closed", account_class="important", source="referral"
    )
    pool = make_customer(None, "丙", region_code="110105")
    ApiClient(org.rep).put(f"/api/v1/customers/{a.pk}/tags", {"tags": [tag.pk]})
    client = ApiClient(org.rep)
    assert ids(client.get("/api/v1/customers", lifecycle="intent")) == {a.pk}
    assert ids(client.get("/api/v1/customers", account_class="important")) == {b.pk}
    assert ids(client.get("/api/v1/customers", source="referral")) == {b.pk}
    assert ids(client.get("/api/v1/customers", industry="C")) == {a.pk}
    for code in ("440000", "440300", "440305"):
        assert ids(client.get("/api/v1/customers", region=code)) == {a.pk}
    assert ids(client.get("/api/v1/customers", region="110000")) == {pool.pk}
    assert ids(client.get("/api/v1/customers", region="110105")) == {pool.pk}
    # a code the region table does not have matches nothing (not everything)
    assert ids(client.get("/api/v1/customers", region="999999")) == set()
    assert ids(client.get("/api/v1/customers", tag=tag.pk)) == {a.pk}
    assert ids(client.get("/api/v1/customers", in_pool="true")) == {pool.pk}
    assert ids(client.get("/api/v1/customers", in_pool="false")) == {a.pk, b.pk}
    assert ids(client.get("/api/v1/customers", owner_id=org.rep.pk)) == {a.pk, b.pk}
    assert ids(client.get("/api/v1/customers", value_level="")) == {a.pk, b.pk, pool.pk}


@pytest.mark.parametrize("sort", ["-updated_at", "updated_at", "name", "-name", "created_at"])
def test_keyset_pages_walk_every_row_once_in_order(org, sort):
    for number in range(7):
        make_customer(org.rep, f"客户{number:02d}")
    client = ApiClient(org.rep)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/customers", **params).json()
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7
    field = sort.lstrip("-")
    keys = [(item[field], item["id"]) for item in seen]
    assert keys == sorted(keys, reverse=sort.startswith("-"))


def test_a_bad_sort_or_cursor_is_a_clear_error(org):
    client = ApiClient(org.rep)
    response = client.get("/api/v1/customers", sort="owner")
    assert response.status_code == 422
    assert "sort" in response.json()["fields"]
    assert client.get("/api/v1/customers", cursor="garbage").json()["code"] == "invalid_cursor"


def _list_queries(client, **params) -> tuple[int, int]:
    """All queries of one list request, and those that read the archive's own tables (the rest
    are the token check, the rate limiter's cache and the actor's role and department)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/customers", **params)
    assert response.status_code == 200
    ours = [q for q in captured.captured_queries if "customers_" in q["sql"]]
    return len(captured), len(ours)


def test_the_list_query_count_does_not_grow_with_rows_or_tags(org):
    tags = list(Tag.objects.all())
    client = ApiClient(org.manager)
    make_customer(org.rep, "第一")
    _list_queries(client)  # the first request of a token also stamps its use and opens a window
    one = _list_queries(client)
    for number in range(12):
        customer = make_customer(org.rep if number % 2 else org.other_rep, f"客户{number}")
        ApiClient(customer.owner).put(
            f"/api/v1/customers/{customer.pk}/tags", {"tags": [t.pk for t in tags]}
        )
    many = _list_queries(client)
    # then: one query for the page, one for all its tags, whatever the number of rows
    assert many == one
    assert many[1] == 2
    # a search adds one on PostgreSQL, however many rows: the terms' share of the newest rows,
    # which decides whether the page goes through the search index (selectors._search_shares)
    probe = 1 if connection.vendor == "postgresql" else 0
    searched = _list_queries(client, q="客户", lifecycle="potential", tag=tags[0].pk)
    assert searched == (many[0] + probe, many[1] + probe)
    # and one probe too for letters, which also match the reader's own private tokens: the
    # public terms and their private forms are measured together
    spelled = _list_queries(client, q="kehu", lifecycle="potential")
    assert spelled == (many[0] + probe, many[1] + probe)


def test_create_through_the_api_uses_the_issues_field_names(org):
    tag = Tag.objects.get(name="技术型客户")
    response = ApiClient(org.rep).post(
        "/api/v1/customers",
        {
            "name": "华为技术有限公司",
            "kind": "company",
            "credit_code": HUAWEI_CODE,
            "industry": "I",
            "region_code": "440305",
            "lifecycle": "intent",
            "account_class": "strategic",
            "tags": [tag.pk],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["region_code"] == "440305"
    assert body["province_code"] == "440000"
    assert body["industry"] == "I"
    assert body["owner_id"] == org.rep.pk
    assert body["department_id"] == org.east.pk
    assert body["in_pool"] is False
    assert body["value_level"] == ""
    assert body["tags"] == [{"id": tag.pk, "name": "技术型客户", "color": tag.color}]
    assert body["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"credit_code": "914403001922038217"}, "credit_code"),
        ({"region_code": "123456"}, "region_code"),
        ({"website": "ftp//x"}, "website"),
        ({"parent_id": 999999}, "parent_id"),
        ({"industry": "ZZ"}, "industry"),
    ],
)
def test_invalid_customer_input_is_422_naming_the_field(org, body, field):
    client = ApiClient(org.rep)
    before = db_state()
    response = client.post("/api/v1/customers", {"name": "某公司", **body})
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phones": [{"number": "12345"}]}, "phones.0"),
        ({"email": "nope"}, "email"),
    ],
)
def test_invalid_contact_input_is_422_naming_the_field(org, body, field):
    customer = make_customer(org.rep)
    client = ApiClient(org.rep)
    before = db_state()
    response = client.post("/api/v1/contacts", {"customer_id": customer.pk, "name": "张三", **body})
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert db_state() == before


def test_a_stale_patch_is_409_with_both_values_and_changes_nothing(org):
    customer = make_customer(org.rep, "原名")
    client = ApiClient(org.rep)
    first = client.patch(f"/api/v1/customers/{customer.pk}", {"version": 1, "name": "第一次"})
    assert first.status_code == 200
    manager = ApiClient(org.manager)
    before = db_state()
    second = manager.patch(f"/api/v1/customers/{customer.pk}", {"version": 1, "name": "第二次"})
    assert second.status_code == 409
    body = second.json()
    assert body["code"] == "conflict"
    assert body["conflicts"]["name"] == {"yours": "第二次", "theirs": "第一次"}
    assert body["current_version"] == 2
    assert db_state() == before


def test_patch_region_code_replaces_the_whole_chain(org):
    customer = make_customer(org.rep, region_code="440305")
    response = ApiClient(org.rep).patch(
        f"/api/v1/customers/{customer.pk}", {"version": 1, "region_code": "420100"}
    )
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.province_id, customer.city_id, customer.district_id) == (
        "420000",
        "420100",
        None,
    )


def test_phones_and_emails_are_masked_for_everyone_but_the_owner(org):
    # given a pool customer with a contact (a rep reads it, only managers write it) and one of
    # the rep's own customers
    pool = make_customer(None, "公海客户")
    make_contact(pool, "赵六", phones=["13800138000"], email="zhaoliu@example.com", wechat="zl888")
    own = make_customer(org.rep, "自己的客户")
    make_contact(own, "钱七", phones=["13900139000"], email="qianqi@example.com")
    # when
    rep_view = {c["name"]: c for c in ApiClient(org.rep).get("/api/v1/contacts").json()["items"]}
    manager_view = {
        c["name"]: c for c in ApiClient(org.manager).get("/api/v1/contacts").json()["items"]
    }
    # then
    masked = rep_view["赵六"]
    assert masked["masked"] is True
    assert masked["phones"] == [{"number": "138****8000", "label": "mobile"}]
    assert masked["email"] == "zh****@example.com"
    assert masked["wechat"] == "zl****"
    assert rep_view["钱七"]["masked"] is False
    assert rep_view["钱七"]["phones"][0]["number"] == "+8613900139000"
    # the manager may write both customers but owns neither: masked too (a reveal shows them)
    assert manager_view["赵六"]["phones"][0]["number"] == "138****8000"
    assert manager_view["钱七"]["masked"] is True
    assert manager_view["钱七"]["phones"][0]["number"] == "139****9000"
    # the analyst reads everything, writes nothing, so sees everything masked
    analyst_view = ApiClient(org.analyst).get("/api/v1/contacts").json()["items"]
    assert {c["masked"] for c in analyst_view} == {True}
    detail = ApiClient(org.rep).get(f"/api/v1/contacts/{pool.contacts.get().pk}").json()
    assert detail["phones"][0]["number"] == "138****8000"


def test_deleted_customers_hide_their_contacts(org):
    customer = make_customer(org.rep)
    contact = make_contact(customer, phones=["13800138000"])
    client = ApiClient(org.rep)
    assert client.delete(f"/api/v1/customers/{customer.pk}").status_code == 204
    assert client.get(f"/api/v1/contacts/{contact.pk}").status_code == 404
    assert ids(client.get("/api/v1/contacts")) == set()
    assert Customer.all_objects.filter(pk=customer.pk).exists()
