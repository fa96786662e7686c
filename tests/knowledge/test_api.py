"""The knowledge API: shapes, the error contract, optimistic locking, suggestions and links."""

from __future__ import annotations

import pytest

from guanxi.service.knowledge.models import Article
from tests.conftest import ApiClient, Org
from tests.knowledge.conftest import (
    db_state,
    knowledge_category,
    make_article,
    make_customer,
    make_ticket,
    make_ticket_category,
    service_team,
)

pytestmark = pytest.mark.django_db


def test_an_article_is_created_and_read_back(org: Org) -> None:
    # given
    customer = make_customer(org.rep, "华为技术有限公司")
    ticket_category = make_ticket_category()
    api = ApiClient(org.admin, language="en")
    # when
    created = api.post(
        "/api/v1/knowledge/articles",
        {
            "title": "华为的退货约定",
            "body": "退货须经采购部确认。\n周末不收货。",
            "kind": "customer_note",
            "category_id": knowledge_category().pk,
            "tags": ["退货", "华为"],
            "ticket_category_ids": [ticket_category.pk],
            "customer_ids": [customer.pk],
            "status": "published",
        },
    )
    # then
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "published" and body["published_at"]
    assert body["customers"] == [{"id": customer.pk, "name": "华为技术有限公司"}]
    assert body["tags"] == ["华为", "退货"]
    assert body["ticket_category_ids"] == [ticket_category.pk]
    assert body["kind_label"] == "Customer note"
    assert body["version"] == 1 and body["view_count"] == 0 and body["tickets"] == []
    shown = ApiClient(org.rep).get(f"/api/v1/knowledge/articles/{body['id']}").json()
    assert shown["body"] == "退货须经采购部确认。\n周末不收货。"
    assert shown["view_count"] == 1


def test_bad_input_names_the_api_fields_and_writes_nothing(org: Org) -> None:
    hidden = make_customer(org.rep, "华为技术有限公司")
    api = ApiClient(org.handler, language="en")
    before = db_state()
    response = api.post(
        "/api/v1/knowledge/articles",
        {
            "title": "备忘",
            "body": "内容",
            "kind": "customer_note",
            "category_id": 999999,
            "ticket_category_ids": [999999],
            "customer_ids": [hidden.pk],
        },
    )
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "invalid"
    assert set(payload["fields"]) == {"category_id", "ticket_category_ids", "customer_ids"}
    assert db_state() == before


def test_a_handler_cannot_publish_through_the_api(org: Org) -> None:
    api = ApiClient(org.handler)
    before = db_state()
    response = api.post(
        "/api/v1/knowledge/articles",
        {
            "title": "换货",
            "body": "登记。",
            "category_id": knowledge_category().pk,
            "status": "published",
        },
    )
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert db_state() == before


def test_a_patch_with_a_stale_version_is_a_409_with_both_values(org: Org) -> None:
    article = make_article(org.agent, "退货流程")
    api = ApiClient(org.agent)
    ok = api.patch(f"/api/v1/knowledge/articles/{article.pk}", {"version": 1, "title": "新"})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    before = db_state()
    stale = api.patch(
        f"/api/v1/knowledge/articles/{article.pk}", {"version": 1, "title": "旧", "tags": ["x"]}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert stale.json()["conflicts"]["title"] == {"yours": "旧", "theirs": "新"}
    assert db_state() == before


def test_a_patch_refuses_null_for_required_fields(org: Org) -> None:
    article = make_article(org.agent)
    api = ApiClient(org.agent)
    before = db_state()
    response = api.patch(
        f"/api/v1/knowledge/articles/{article.pk}",
        {"version": 1, "title": None, "category_id": None},
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"title", "category_id"}
    assert db_state() == before


def test_the_list_searches_filters_and_refuses_unknown_choices(org: Org) -> None:
    make_article(org.agent, "退货退款处理流程", tags="售后")
    make_article(
        org.agent, "发票重开", "作废后重开。", kind="faq", category=knowledge_category("billing")
    )
    api = ApiClient(org.rep)

    def titles(**params: str) -> list[str]:
        response = api.get("/api/v1/knowledge/articles", **params)
        assert response.status_code == 200, response.content
        return sorted(item["title"] for item in response.json()["items"])

    assert titles(q="thtk") == ["退货退款处理流程"]
    assert titles(q="退货") == ["退货退款处理流程"]
    assert titles(kind="faq") == ["发票重开"]
    assert titles(tag="售后") == ["退货退款处理流程"]
    assert titles(category_id=str(knowledge_category("billing").pk)) == ["发票重开"]
    for params in ({"sort": "views"}, {"status": "gone"}, {"kind": "poem"}):
        response = api.get("/api/v1/knowledge/articles", **params)
        assert response.status_code == 422, params
        assert set(response.json()) == {"message", "code", "fields"}
    assert api.get("/api/v1/knowledge/articles", cursor="broken").status_code == 400


def test_suggestions_and_links_through_the_api(org: Org) -> None:
    # given
    ticket_category = make_ticket_category()
    ticket = make_ticket(
        make_customer(org.rep),
        ticket_category,
        subject="外包装破损要求退货",
        team=service_team(org),
    )
    article = make_article(
        org.agent, "破损退货", "外包装破损。", ticket_categories=[ticket_category.pk]
    )
    draft = make_article(org.agent, "破损草稿", "外包装破损。", status="draft")
    api = ApiClient(org.handler)
    # when
    suggestions = api.get(f"/api/v1/knowledge/tickets/{ticket.pk}/suggestions").json()
    # then
    assert [item["id"] for item in suggestions["items"]] == [article.pk]
    item = suggestions["items"][0]
    assert item["category_match"] is True and item["terms_matched"] >= 2
    assert item["score"] == item["terms_matched"] + 3
    assert suggestions["linked"] == []
    # when linked, once and again
    path = f"/api/v1/knowledge/tickets/{ticket.pk}/articles/{article.pk}/link"
    first, second = api.post(path), api.post(path)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Article.objects.get(pk=article.pk).link_count == 1
    after = api.get(f"/api/v1/knowledge/tickets/{ticket.pk}/suggestions").json()
    assert after["items"] == [] and [link["article_id"] for link in after["linked"]] == [article.pk]
    shown = ApiClient(org.rep).get(f"/api/v1/knowledge/articles/{article.pk}").json()
    assert [row["number"] for row in shown["tickets"]] == [ticket.number]
    # a draft is refused with a code of its own (the agent may read it)
    agent = ApiClient(org.agent)
    before = db_state()
    refused = agent.post(f"/api/v1/knowledge/tickets/{ticket.pk}/articles/{draft.pk}/link")
    assert refused.status_code == 409 and refused.json()["code"] == "article_not_published"
    assert db_state() == before


def test_a_deleted_article_is_gone_from_the_api(org: Org) -> None:
    article = make_article(org.agent)
    api = ApiClient(org.agent)
    assert api.delete(f"/api/v1/knowledge/articles/{article.pk}").status_code == 204
    assert api.get(f"/api/v1/knowledge/articles/{article.pk}").status_code == 404
    assert api.delete(f"/api/v1/knowledge/articles/{article.pk}").status_code == 404


def test_categories_through_the_api(org: Org) -> None:
    api = ApiClient(org.admin)
    listed = api.get("/api/v1/knowledge/categories").json()
    assert [row["code"] for row in listed][:2] == ["after-sales", "product-usage"]
    duplicate = api.post("/api/v1/knowledge/categories", {"code": "billing", "name": "重复"})
    assert duplicate.status_code == 422 and "code" in duplicate.json()["fields"]
    category = knowledge_category("billing")
    changed = api.patch(
        f"/api/v1/knowledge/categories/{category.pk}", {"version": 1, "active": False}
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    nulled = api.patch(f"/api/v1/knowledge/categories/{category.pk}", {"version": 2, "name": None})
    assert nulled.status_code == 422


def test_ids_no_row_can_have_find_nothing(org: Org) -> None:
    make_article(org.agent)
    api = ApiClient(org.rep)
    huge = str(2**70)
    for name in ("category_id", "customer_id", "ticket_category_id"):
        response = api.get("/api/v1/knowledge/articles", **{name: huge})
        assert response.status_code == 200 and response.json()["items"] == [], name
    assert api.get(f"/api/v1/knowledge/articles/{huge}").status_code == 404
    assert api.get(f"/api/v1/knowledge/tickets/{huge}/suggestions").status_code == 404
