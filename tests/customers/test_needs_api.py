"""The needs database through the API: JSON names, 422 naming the field with nothing changed,
409 on a stale version, the unmet view's groups inside the data scope, history and categories."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.customers.models import Need
from tests.conftest import ApiClient, Org
from tests.customers.conftest import db_state, make_customer, make_need, need_category

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def test_a_need_is_filed_and_read_with_the_model_field_names(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    client = ApiClient(org.rep)
    body = {
        "customer_id": customer.pk,
        "title": "ERP 对接",
        "category_id": need_category("integration").pk,
        "priority": "high",
        "quantity": "2.5",
        "unit": "套",
        "expected_date": str(TODAY + dt.timedelta(days=20)),
        "fit_status": "partial",
        "solution": "标准接口先行",
        "plan_owner_id": org.rep.pk,
        "plan_due_date": str(TODAY + dt.timedelta(days=10)),
        "source": "phone_call",
        "note": "客户催得紧",
    }
    response = client.post("/api/v1/needs", body)
    assert response.status_code == 201, response.content
    out = response.json()
    sent = {k: v for k, v in body.items() if k != "note"}
    assert {k: out[k] for k in sent} == {**sent, "quantity": "2.50"}
    assert out["customer_name"] == "华东客户"
    assert (out["category_code"], out["status"], out["version"]) == ("integration", "open", 1)
    assert out["plan_overdue"] is False
    shown = client.get(f"/api/v1/needs/{out['id']}").json()
    assert shown == out
    history = client.get(f"/api/v1/needs/{out['id']}/history").json()
    assert {item["kind"] for item in history} == {"change", "note"}
    assert next(i for i in history if i["kind"] == "note")["note"] == "客户催得紧"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"category_id": 999999}, {"category_id"}),
        ({"fit_status": "unmet"}, {"solution", "plan_owner_id", "plan_due_date"}),
        ({"fit_status": "met", "plan_owner_id": -1}, {"plan_owner_id"}),
        ({"quantity": "-5"}, {"quantity"}),
        ({"quantity": "lots"}, {"quantity"}),
        ({"priority": "urgent"}, {"priority"}),
        ({"expected_date": "next week"}, {"expected_date"}),
        ({"title": ""}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"category_id": "abc"}, {"category_id"}),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(org: Org, body, fields) -> None:
    customer = make_customer(org.rep, "华东客户")
    client = ApiClient(org.rep, language="zh-hans")
    payload = {
        "customer_id": customer.pk,
        "title": "需求",
        "category_id": need_category().pk,
        **body,
    }
    before = db_state()
    response = client.post("/api/v1/needs", payload)
    assert response.status_code == 422, response.content
    out = response.json()
    assert out["code"] == "invalid"
    assert fields <= set(out["fields"]), out
    assert out["message"] == "部分字段填写有误。"
    assert db_state() == before


def test_a_refusal_comes_in_the_request_language(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    payload = {
        "customer_id": customer.pk,
        "title": "",
        "category_id": need_category().pk,
        "fit_status": "partial",
        "solution": "方案",
        "plan_owner_id": org.manager.pk,
        "plan_due_date": str(TODAY),
    }
    out = ApiClient(org.rep, language="zh-hans").post("/api/v1/needs", payload).json()
    # Django's and the customer archive's messages, in Chinese (a rep names only themselves)
    assert out["fields"]["title"] == ["此字段不能为空。"]
    assert not out["fields"]["plan_owner_id"][0].isascii()


def test_a_stale_patch_is_a_409_with_both_values_and_changes_nothing(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    rep, manager = ApiClient(org.rep), ApiClient(org.manager)
    changed = manager.patch(f"/api/v1/needs/{need.pk}", {"version": 1, "priority": "high"})
    assert changed.status_code == 200
    before = db_state()
    response = rep.patch(
        f"/api/v1/needs/{need.pk}", {"version": 1, "priority": "low", "note": "过期的修改"}
    )
    assert response.status_code == 409
    out = response.json()
    assert out["code"] == "conflict"
    assert out["conflicts"]["priority"] == {"yours": "low", "theirs": "high"}
    assert db_state() == before


def test_patch_renames_ids_and_a_fit_without_a_gap_drops_the_plan(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"), fit_status="unmet")
    client = ApiClient(org.rep)
    response = client.patch(
        f"/api/v1/needs/{need.pk}",
        {"version": 1, "fit_status": "met", "category_id": need_category("price").pk},
    )
    assert response.status_code == 200, response.content
    out = response.json()
    assert (out["plan_owner_id"], out["plan_due_date"], out["category_code"]) == (
        None,
        None,
        "price",
    )
    response = client.patch(f"/api/v1/needs/{need.pk}", {"version": 2, "customer_id": 1})
    assert response.status_code == 200  # not a field of the patch: ignored by the schema
    response = client.patch(f"/api/v1/needs/{need.pk}", {"version": 2, "status": "gone"})
    assert response.status_code == 422 and set(response.json()["fields"]) == {"status"}


def test_close_reopen_and_notes(org: Org) -> None:
    need = make_need(make_customer(org.rep, "华东客户"))
    client = ApiClient(org.rep)
    closed = client.post(f"/api/v1/needs/{need.pk}/close", {"note": "已满足"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = client.post(f"/api/v1/needs/{need.pk}/close", {})
    assert again.status_code == 409 and again.json()["code"] == "need_status"
    stale = client.post(f"/api/v1/needs/{need.pk}/reopen", {"version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    reopened = client.post(f"/api/v1/needs/{need.pk}/reopen", {"version": 2})
    assert reopened.json()["status"] == "open"
    note = client.post(f"/api/v1/needs/{need.pk}/notes", {"text": "客户来电"})
    assert note.status_code == 201 and note.json()["author_id"] == org.rep.pk
    empty = client.post(f"/api/v1/needs/{need.pk}/notes", {"text": " "})
    assert empty.status_code == 422 and set(empty.json()["fields"]) == {"text"}


def test_the_unmet_endpoint_groups_inside_the_data_scope(org: Org) -> None:
    mine = make_customer(org.rep, "华东客户")
    make_need(mine, "A", category=need_category("delivery"), fit_status="partial")
    make_need(mine, "B", category=need_category("delivery"), fit_status="unmet")
    make_need(mine, "C", category=need_category("product"), fit_status="met")
    make_need(make_customer(org.other_rep, "华北客户"), "D", fit_status="unmet")
    make_need(make_customer(None, "公海客户"), "E", fit_status="unmet")
    out = ApiClient(org.rep).get("/api/v1/needs/unmet").json()
    assert out["total"] == 3
    assert [(g["category_code"], g["partial"], g["unmet"], g["total"]) for g in out["groups"]] == [
        ("product", 0, 1, 1),  # the pool customer's
        ("delivery", 1, 1, 2),
    ]
    manager = ApiClient(org.manager).get("/api/v1/needs/unmet", owner_id=org.other_rep.pk).json()
    assert manager["total"] == 1
    bad = ApiClient(org.rep).get("/api/v1/needs/unmet", priority="urgent")
    assert bad.status_code == 422 and set(bad.json()["fields"]) == {"priority"}
    # one group's needs
    delivery = need_category("delivery").pk
    listed = ApiClient(org.rep).get("/api/v1/needs", unmet="true", category_id=delivery).json()
    assert {item["title"] for item in listed["items"]} == {"A", "B"}


def test_the_list_pages_and_refuses_bad_filters(org: Org) -> None:
    customer = make_customer(org.rep, "华东客户")
    for index in range(5):
        make_need(customer, f"需求{index}")
    client = ApiClient(org.rep)
    first = client.get("/api/v1/needs", limit=2, sort="category").json()
    second = client.get("/api/v1/needs", limit=2, sort="category", cursor=first["next_cursor"])
    assert len(first["items"]) == 2 and len(second.json()["items"]) == 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second.json()["items"]}
    for params, field in (({"sort": "title"}, "sort"), ({"fit_status": "x"}, "fit_status")):
        response = client.get("/api/v1/needs", **params)
        assert response.status_code == 422 and set(response.json()["fields"]) == {field}
    response = client.get("/api/v1/needs", cursor="garbage")
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("need_id", ["0", "-1", str(2**70), "abc"])
def test_ids_that_are_no_row_are_not_a_500(org: Org, need_id: str) -> None:
    response = ApiClient(org.admin).get(f"/api/v1/needs/{need_id}")
    assert response.status_code in (404, 422)


def test_categories_are_read_by_everyone_and_written_by_administrators(org: Org) -> None:
    listed = ApiClient(org.rep).get("/api/v1/need-categories").json()
    assert [c["code"] for c in listed][:3] == ["product", "customisation", "delivery"]
    admin = ApiClient(org.admin)
    made = admin.post("/api/v1/need-categories", {"code": "warranty", "name": "质保"})
    assert made.status_code == 201
    duplicate = admin.post("/api/v1/need-categories", {"code": "warranty", "name": "另一个"})
    assert duplicate.status_code == 422 and set(duplicate.json()["fields"]) == {"code"}
    category = made.json()
    edited = admin.patch(
        f"/api/v1/need-categories/{category['id']}", {"version": 1, "is_active": False}
    )
    assert edited.json()["is_active"] is False
    stale = admin.patch(f"/api/v1/need-categories/{category['id']}", {"version": 1, "name": "x"})
    assert stale.status_code == 409
    # a switched-off category is refused for a new need, by name of the field
    customer = make_customer(org.rep, "华东客户")
    response = ApiClient(org.rep).post(
        "/api/v1/needs",
        {"customer_id": customer.pk, "title": "质保延长", "category_id": category["id"]},
    )
    assert response.status_code == 422 and set(response.json()["fields"]) == {"category_id"}
    assert not Need.objects.exists()
