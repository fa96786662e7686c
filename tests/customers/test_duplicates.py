"""The duplicate check (客户查重, 撞单): the selector on plain values and in bulk, masking of
matches the actor may not see, the credit-code refusal, the 409 / "File it anyway" flow in the
services, the API and the form, the check endpoint, the scan page, the stored name key and its
migration.

rep1 (华东组) and rep2 (华北组) cannot see each other's customers; the sales manager sees both;
the pool is visible to everyone."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.customers import services
from guanxi.customers.models import Customer
from guanxi.customers.selectors import (
    DUPLICATE_LIKELY_SCORE,
    customer_duplicate_groups,
    customer_duplicates_find,
    customer_duplicates_find_many,
    duplicate_candidate,
)
from guanxi.customers.services import CustomerDuplicateSuspectedError
from tests.conftest import ApiClient, Org, login_client
from tests.customers.conftest import HUAWEI_CODE, TENCENT_CODE, db_state, make_contact

pytestmark = pytest.mark.django_db


def file(owner: Any, name: str, **fields: Any) -> Customer:
    """A customer filed through the service as a user would, the duplicate check included."""
    actor = fields.pop("actor", None) or owner
    return services.customer_create(actor=actor, name=name, owner=owner, **fields)


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "kind": "company",
        "name": "北京华为技术有限公司",
        "source": "other",
        "lifecycle": "potential",
        "account_class": "none",
    }
    data.update(overrides)
    return data


# --- the selector -------------------------------------------------------------------------------


def test_the_three_spellings_of_huawei_find_each_other(org: Org):
    # given two spellings filed by the rep (the second confirmed as a likely duplicate)
    bracketed = file(org.rep, "华为技术（北京）有限公司")
    half_width = file(org.rep, "华为技术(北京)有限公司", allow_duplicates=True)
    # when the third is checked
    matches = customer_duplicates_find(actor=org.rep, name="北京华为技术有限公司")
    # then both are likely duplicates, by name, at 100
    assert {m.customer_id for m in matches} == {bracketed.pk, half_width.pk}
    assert all(m.score == 100 and m.reasons == ("name",) for m in matches)
    assert all(m.score >= DUPLICATE_LIKELY_SCORE for m in matches)
    assert bracketed.name_key == half_width.name_key == "华为技术"


def test_huawei_technologies_does_not_match_huawei_device(org: Org):
    file(org.rep, "华为技术有限公司")
    assert customer_duplicates_find(actor=org.rep, name="华为终端有限公司") == []


def test_a_near_name_matches_with_its_score(org: Org):
    near = file(org.rep, "深圳市某某信息技术发展咨询服务集团有限公司")
    matches = customer_duplicates_find(actor=org.rep, name="某某信息技术发展咨询服务集才有限公司")
    assert [m.customer_id for m in matches] == [near.pk]
    assert DUPLICATE_LIKELY_SCORE <= matches[0].score < 100


def test_a_match_the_actor_cannot_see_says_only_who_owns_it(org: Org):
    # given rep2's customer, which rep1 cannot see, with a contact
    theirs = file(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    make_contact(theirs, "李四", phones=["13800138000"], email="lisi@huawei.com")
    # when rep1 checks the same company
    (match,) = customer_duplicates_find(
        actor=org.rep,
        name="北京华为技术有限公司",
        credit_code=HUAWEI_CODE,
        phones=["138 0013 8000"],
        emails=["LiSi@Huawei.com"],
    )
    # then rep1 learns who owns it, and nothing of the customer itself
    assert match.visible is False
    assert match.customer_id is None and match.name == "" and match.owner_id is None
    assert match.owner_name == org.other_rep.get_full_name()
    assert match.reasons == ("credit_code", "name", "phone", "email")
    body = match.as_dict()
    assert body["id"] is None and body["name"] is None and body["owner_id"] is None
    assert body["holder"] == f"Owned by {org.other_rep.get_full_name()}"
    assert "华为" not in str(body) and "138" not in str(body) and "lisi" not in str(body)
    # and the manager, who sees it, gets the full summary
    (seen,) = customer_duplicates_find(actor=org.manager, name="北京华为技术有限公司")
    assert seen.visible and seen.customer_id == theirs.pk and seen.name == "华为技术有限公司"
    assert seen.owner_id == org.other_rep.pk


def test_a_pool_match_is_visible_to_everyone_and_says_so(org: Org):
    pool = file(None, "华为技术有限公司", actor=org.admin)
    (match,) = customer_duplicates_find(actor=org.agent, name="华为技术(北京)有限公司")
    assert match.visible and match.in_pool and match.customer_id == pool.pk
    assert match.holder == "In the pool" and match.as_dict()["owner_name"] is None


def test_phones_match_in_any_format_and_emails_without_case(org: Org):
    customer = file(org.rep, "腾讯科技有限公司")
    make_contact(customer, "张三", phones=["+8613800138000"], email="Zhang.San@Tencent.com")
    by_phone = customer_duplicates_find(actor=org.rep, phones=["138-0013-8000"])
    by_email = customer_duplicates_find(actor=org.rep, emails=["zhang.san@tencent.COM"])
    assert [(m.customer_id, m.reasons, m.score) for m in by_phone] == [
        (customer.pk, ("phone",), DUPLICATE_LIKELY_SCORE)
    ]
    assert [(m.customer_id, m.reasons) for m in by_email] == [(customer.pk, ("email",))]
    # another number, another address
    assert customer_duplicates_find(actor=org.rep, phones=["13900139000"]) == []
    assert customer_duplicates_find(actor=org.rep, emails=["zhang@tencent.com"]) == []


def test_deleted_customers_and_contacts_are_no_duplicates(org: Org):
    customer = file(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "张三", phones=["13800138000"])
    services.contact_delete(actor=org.rep, contact=contact)
    assert customer_duplicates_find(actor=org.rep, phones=["13800138000"]) == []
    services.customer_delete(actor=org.rep, customer=customer)
    assert customer_duplicates_find(actor=org.rep, name="华为技术有限公司") == []


def test_individuals_are_not_compared_by_name(org: Org):
    file(org.rep, "张伟", kind="individual")
    assert customer_duplicates_find(actor=org.rep, name="张伟") == []
    assert customer_duplicates_find(actor=org.rep, name="张伟", kind="individual") == []


def test_exclude_id_leaves_out_a_visible_customer_only(org: Org):
    mine = file(org.rep, "华为技术有限公司")
    theirs = file(org.other_rep, "华为技术(北京)有限公司", allow_duplicates=True)
    found = customer_duplicates_find(actor=org.rep, name="华为技术", exclude_id=mine.pk)
    assert [m.visible for m in found] == [False]
    # excluding a customer rep1 cannot see changes nothing: no probing hidden ids
    found = customer_duplicates_find(actor=org.rep, name="华为技术", exclude_id=theirs.pk)
    assert len(found) == 2


def test_bad_values_are_field_errors():
    with pytest.raises(ValidationError) as error:
        duplicate_candidate(credit_code="123", phones=["", "12"], emails=["", "not-an-address"])
    assert set(error.value.message_dict) == {"credit_code", "phones.1", "emails.1"}


def test_the_bulk_form_answers_every_candidate_in_few_queries(org: Org):
    huawei = file(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    tencent = file(org.rep, "腾讯科技有限公司", credit_code=TENCENT_CODE)
    make_contact(tencent, "张三", phones=["13800138000"])
    rows = [
        duplicate_candidate(name="北京华为技术有限公司"),
        duplicate_candidate(name="某某", credit_code=TENCENT_CODE),
        duplicate_candidate(name="另一家", phones=["13800138000"]),
        duplicate_candidate(name="无关公司"),
    ]
    with CaptureQueriesContext(connection) as queries:
        results = customer_duplicates_find_many(actor=org.rep, candidates=rows)
    assert [[m.customer_id for m in matches] for matches in results] == [
        [huawei.pk],
        [tencent.pk],
        [tencent.pk],
        [],
    ]
    # two per name; the rest do not grow with the rows: one for the codes, one for the
    # contacts, two to load and scope the matches (and the actor's department for the scope)
    assert len(queries) <= 2 * len(rows) + 5


def test_names_are_found_through_the_name_key_index(org: Org):
    file(org.rep, "华为技术有限公司")
    with CaptureQueriesContext(connection) as queries:
        customer_duplicates_find(actor=org.rep, name="华为技术有限公司")
    name_reads = [q["sql"] for q in queries if '"name_key" >=' in q["sql"]]
    assert len(name_reads) == 2
    with connection.cursor() as cursor:
        for sql in name_reads:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"EXPLAIN {sql}")
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "customer_name_key" in plan, plan


# --- services -----------------------------------------------------------------------------------


def test_a_likely_duplicate_is_refused_until_confirmed_and_nothing_is_written(org: Org):
    file(org.other_rep, "华为技术有限公司")
    before = db_state()
    with pytest.raises(CustomerDuplicateSuspectedError) as error:
        file(org.rep, "北京华为技术有限公司")
    assert error.value.status_code == 409 and error.value.code == "duplicate_suspected"
    (match,) = error.value.extra["matches"]
    assert match["visible"] is False and match["name"] is None
    assert db_state() == before
    created = file(org.rep, "北京华为技术有限公司", allow_duplicates=True)
    assert created.name_key == "华为技术"


def test_an_equal_credit_code_is_refused_even_when_confirmed(org: Org):
    file(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    pool = file(None, "腾讯科技有限公司", credit_code=TENCENT_CODE, actor=org.admin)
    before = db_state()
    with pytest.raises(ValidationError) as hidden:
        file(org.rep, "别名公司", credit_code=HUAWEI_CODE, allow_duplicates=True)
    (message,) = hidden.value.message_dict["credit_code"]
    assert org.other_rep.get_full_name() in message and "华为" not in message
    with pytest.raises(ValidationError) as seen:
        file(org.manager, "别名公司", credit_code=HUAWEI_CODE, allow_duplicates=True)
    assert "华为技术有限公司" in seen.value.message_dict["credit_code"][0]
    with pytest.raises(ValidationError) as in_pool:
        file(org.rep, "别名公司", credit_code=TENCENT_CODE)
    assert pool.name in in_pool.value.message_dict["credit_code"][0]
    assert "pool" in in_pool.value.message_dict["credit_code"][0]
    assert db_state() == before


def test_an_equal_credit_code_is_found_behind_many_equal_names(org: Org):
    for _n in range(12):
        file(org.rep, "华为技术有限公司", allow_duplicates=True)
    coded = file(org.rep, "某某公司", credit_code=HUAWEI_CODE)
    matches = customer_duplicates_find(
        actor=org.rep, name="华为技术有限公司", credit_code=HUAWEI_CODE, limit=3
    )
    assert matches[0].customer_id == coded.pk
    with pytest.raises(ValidationError):
        file(org.rep, "华为技术有限公司", credit_code=HUAWEI_CODE, allow_duplicates=True)


def test_an_edit_checks_only_what_changes(org: Org):
    file(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    mine = file(org.rep, "北京华为技术有限公司", allow_duplicates=True)
    # an edit that leaves the name key alone is not stopped by the old duplicate
    mine = services.customer_update(actor=org.rep, customer=mine, data={"address": "北京"})
    mine = services.customer_update(
        actor=org.rep, customer=mine, data={"name": "华为技术（北京）有限公司"}
    )
    assert mine.name_key == "华为技术"
    # renaming onto another company's name is refused until confirmed; nothing is written
    other = file(org.rep, "腾讯科技有限公司")
    before = db_state()
    with pytest.raises(CustomerDuplicateSuspectedError):
        services.customer_update(actor=org.rep, customer=other, data={"name": "华为技术有限公司"})
    with pytest.raises(ValidationError) as error:
        services.customer_update(actor=org.rep, customer=other, data={"credit_code": HUAWEI_CODE})
    assert "credit_code" in error.value.message_dict
    assert db_state() == before
    renamed = services.customer_update(
        actor=org.rep, customer=other, data={"name": "华为技术有限公司"}, allow_duplicates=True
    )
    assert renamed.name_key == "华为技术"


def test_a_name_that_grows_under_nfkc_still_fits_the_key_column(org: Org):
    customer = file(org.rep, "㍿" * 200)  # 株式会社 each
    assert len(customer.name_key) == 200


def test_government_bodies_keep_their_region_in_the_key(org: Org):
    beijing = file(org.rep, "北京市财政局", kind="government")
    assert beijing.name_key == "北京市财政局"
    assert customer_duplicates_find(actor=org.rep, name="上海市财政局", kind="government") == []


# --- API ----------------------------------------------------------------------------------------


def test_api_create_answers_409_with_the_matches_then_201_when_allowed(org: Org):
    file(org.other_rep, "华为技术有限公司")
    client = ApiClient(org.rep, language="en")
    before = db_state()
    response = client.post("/api/v1/customers", {"name": "华为技术(北京)有限公司"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_suspected" and body["fields"] == {}
    assert body["matches"][0]["visible"] is False
    assert body["matches"][0]["owner_name"] == org.other_rep.get_full_name()
    assert body["matches"][0]["reasons"] == [{"code": "name", "label": "Similar name"}]
    assert db_state() == before
    response = client.post(
        "/api/v1/customers", {"name": "华为技术(北京)有限公司", "allow_duplicates": True}
    )
    assert response.status_code == 201


def test_api_edit_answers_409_then_200_when_allowed(org: Org):
    file(org.rep, "华为技术有限公司")
    other = file(org.rep, "腾讯科技有限公司")
    client = ApiClient(org.rep)
    path = f"/api/v1/customers/{other.pk}"
    response = client.patch(path, {"version": other.version, "name": "北京华为技术有限公司"})
    assert response.status_code == 409
    assert response.json()["matches"][0]["name"] == "华为技术有限公司"
    response = client.patch(
        path, {"version": other.version, "name": "北京华为技术有限公司", "allow_duplicates": True}
    )
    assert response.status_code == 200, response.content


def test_api_equal_credit_code_is_a_422_on_the_field(org: Org):
    file(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    response = ApiClient(org.rep).post(
        "/api/v1/customers", {"name": "别名", "credit_code": HUAWEI_CODE, "allow_duplicates": True}
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["credit_code"]


def test_the_check_endpoint_returns_masked_matches(org: Org):
    theirs = file(org.other_rep, "华为技术有限公司")
    make_contact(theirs, "李四", phones=["13800138000"])
    response = ApiClient(org.rep).post(
        "/api/v1/customers/duplicates",
        {"name": "北京华为技术有限公司", "phones": ["13800138000"]},
    )
    assert response.status_code == 200
    (match,) = response.json()["matches"]
    assert match["visible"] is False and match["id"] is None and match["name"] is None
    assert [reason["code"] for reason in match["reasons"]] == ["name", "phone"]
    assert match["score"] == 100
    response = ApiClient(org.manager).post("/api/v1/customers/duplicates", {"name": "华为技术"})
    assert response.json()["matches"][0]["id"] == theirs.pk


def test_the_check_endpoint_translates_bad_input(org: Org):
    client = ApiClient(org.rep, language="zh-hans")
    response = client.post(
        "/api/v1/customers/duplicates", {"phones": ["12"], "emails": ["x"], "credit_code": "1"}
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"phones.0", "emails.0", "credit_code"}
    response = client.post("/api/v1/customers/duplicates", {"limit": 0})
    assert response.status_code == 422
    assert client.post("/api/v1/customers/duplicates", {}).json() == {"matches": []}


# --- the form -----------------------------------------------------------------------------------


def test_the_form_warns_lists_the_matches_and_saves_only_when_ticked(org: Org):
    visible = file(org.rep, "华为技术有限公司")
    file(org.other_rep, "华为技术（北京）有限公司", allow_duplicates=True)
    client = login_client(org.rep, language="en")
    before = db_state()
    # when the rep files a third spelling
    response = client.post("/customers/new/", _form())
    # then the form comes back with the warning and the box, and nothing is saved
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-testid="duplicate-warning"' in body
    assert 'data-testid="allow-duplicates"' in body
    assert f"/customers/{visible.pk}/" in body
    assert "A customer outside your data scope" in body
    assert f"Owned by {org.other_rep.get_full_name()}" in body
    assert "华为技术（北京）有限公司" not in body
    assert db_state() == before
    # when the box is ticked, it is filed
    response = client.post("/customers/new/", _form(allow_duplicates="on"))
    assert response.status_code == 302
    assert Customer.objects.filter(name="北京华为技术有限公司").exists()


def test_the_edit_form_warns_on_a_new_name_only(org: Org):
    file(org.rep, "华为技术有限公司")
    other = file(org.rep, "腾讯科技有限公司")
    client = login_client(org.rep)
    data = _form(version=other.version, name="华为技术(北京)有限公司", owner=org.rep.pk)
    before = db_state()
    response = client.post(f"/customers/{other.pk}/edit/", data)
    assert response.status_code == 409
    assert 'data-testid="duplicate-warning"' in response.content.decode()
    assert db_state() == before
    response = client.post(f"/customers/{other.pk}/edit/", {**data, "allow_duplicates": "on"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert other.name == "华为技术(北京)有限公司" and other.name_key == "华为技术"
    # a later edit of something else is not warned about again
    data = _form(version=other.version, name=other.name, lifecycle="intent")
    assert client.post(f"/customers/{other.pk}/edit/", data).status_code == 302


def test_the_form_shows_an_equal_credit_code_as_a_field_error(org: Org):
    file(org.other_rep, "华为技术有限公司", credit_code=HUAWEI_CODE)
    before = db_state()
    response = login_client(org.rep).post(
        "/customers/new/", _form(name="别名", credit_code=HUAWEI_CODE, allow_duplicates="on")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["credit_code"]
    assert org.other_rep.get_full_name() in errors[0]
    assert db_state() == before


# --- the scan -----------------------------------------------------------------------------------


@pytest.fixture
def duplicated(org: Org) -> dict[str, Customer]:
    """Pairs by name key, by credit code and by a shared phone, in rep1's and rep2's hands."""
    rows = {
        "a": file(org.rep, "华为技术有限公司"),
        "b": file(org.other_rep, "北京华为技术有限公司", allow_duplicates=True),
        "c": file(org.rep, "腾讯科技有限公司", credit_code=TENCENT_CODE),
        "d": file(org.admin, "深圳腾讯", actor=org.admin),
        "e": file(org.rep, "阿里巴巴网络技术有限公司"),
        "f": file(org.rep, "字节跳动科技有限公司"),
    }
    # the same credit code on two customers: only data from before the check can hold that
    Customer.objects.filter(pk=rows["d"].pk).update(credit_code=TENCENT_CODE)
    make_contact(rows["e"], "王五", phones=["13900139000"])
    make_contact(rows["f"], "赵六", phones=["139 0013 9000"])
    return rows


def test_the_scan_groups_by_name_code_and_phone_within_the_scope(org: Org, duplicated):
    by_name = customer_duplicate_groups(actor=org.manager, reason="name")
    assert [(g.value, {c.pk for c in g.customers}) for g in by_name.groups] == [
        ("华为技术", {duplicated["a"].pk, duplicated["b"].pk})
    ]
    by_code = customer_duplicate_groups(actor=org.admin, reason="credit_code")
    assert [(g.value, g.count) for g in by_code.groups] == [(TENCENT_CODE, 2)]
    # the manager does not see the administrator's own customer, so no group for them
    assert customer_duplicate_groups(actor=org.manager, reason="credit_code").groups == []
    by_phone = customer_duplicate_groups(actor=org.manager, reason="phone")
    (group,) = by_phone.groups
    assert group.value == "139****9000"
    assert {c.pk for c in group.customers} == {duplicated["e"].pk, duplicated["f"].pk}


def test_the_scan_is_capped(org: Org, duplicated):
    file(org.rep, "腾讯科技（深圳）有限公司", allow_duplicates=True)
    scan = customer_duplicate_groups(actor=org.manager, reason="name", limit=1)
    assert len(scan.groups) == 1 and scan.more


@pytest.mark.parametrize("reason", ["name", "credit_code", "phone", "nonsense"])
def test_the_scan_page_shows_the_groups_to_managers(org: Org, duplicated, reason):
    response = login_client(org.admin).get(f"/customers/duplicates/?by={reason}")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="duplicate-group"' in body
    assert "13900139000" not in body


def test_the_list_links_the_scan_for_managers_only(org: Org):
    assert "/customers/duplicates/" in login_client(org.manager).get("/customers/").content.decode()
    assert "/customers/duplicates/" not in login_client(org.rep).get("/customers/").content.decode()


# --- the stored key and its migration ------------------------------------------------------------


def test_the_migration_fills_the_key_of_existing_rows(org: Org):
    company = file(org.rep, "華為技術（北京）有限公司")
    agency = file(org.rep, "北京市财政局", kind="government")
    Customer.all_objects.update(name_key="")
    migration = importlib.import_module("guanxi.customers.migrations.0012_customer_name_key")
    migration.fill(apps, None)
    company.refresh_from_db()
    agency.refresh_from_db()
    assert (company.name_key, agency.name_key) == ("华为技术", "北京市财政局")
