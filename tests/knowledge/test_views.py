"""The knowledge pages: list with HTMX search and plain-link fallback, filters, the article shown
safely, writing and editing through the forms, and "used to solve this" from a ticket."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article, TicketArticleLink
from guanxi.service.knowledge.views import ticket_page_url
from tests.conftest import Org, login_client
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


def test_the_search_box_answers_htmx_with_the_results_only(org: Org) -> None:
    make_article(org.agent, "退货退款处理流程")
    make_article(org.agent, "发票重开")
    client = login_client(org.rep)
    fragment = client.get("/service/knowledge/?q=tuihuo", headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert "<html" not in body and 'data-testid="article-table"' in body
    assert "退货退款处理流程" in body and "发票重开" not in body
    # the same address without JavaScript is the whole page
    page = client.get("/service/knowledge/?q=tuihuo").content.decode()
    assert "<html" in page and "退货退款处理流程" in page and "发票重开" not in page
    assert 'hx-get="/service/knowledge/"' in page and 'action="/service/knowledge/"' in page


def test_the_list_filters_by_category_kind_status_and_tag(org: Org) -> None:
    faq = make_article(org.agent, "常见问题一", kind="faq", tags="物流")
    billing = make_article(org.agent, "发票重开", category=knowledge_category("billing"))
    draft = make_article(org.agent, "草稿一", status="draft")
    client = login_client(org.agent)

    def titles(query: str) -> set[str]:
        response = client.get(f"/service/knowledge/?{query}")
        assert response.status_code == 200
        return {
            title
            for title in ("常见问题一", "发票重开", "草稿一")
            if title in response.content.decode().split('data-testid="article-table"')[1]
        }

    assert titles("") == {faq.title, billing.title, draft.title}
    assert titles(f"category={knowledge_category('billing').pk}") == {billing.title}
    assert titles("kind=faq") == {faq.title}
    assert titles("status=draft") == {draft.title}
    assert titles("tag=物流") == {faq.title}
    # what does not parse is ignored, never an error
    assert titles("category=abc&kind=poem&sort=nonsense&tag=不存在") == {
        faq.title,
        billing.title,
        draft.title,
    }


def test_the_list_pages_with_a_cursor_and_recovers_from_a_bad_one(org: Org) -> None:
    for index in range(52):
        Article.objects.create(
            title=f"条目{index:02d}",
            body="正文",
            category=knowledge_category(),
            status="published",
            author=org.agent,
        )
    client = login_client(org.rep)
    first = client.get("/service/knowledge/?sort=title")
    assert first.content.decode().count('data-testid="article-row"') == 50
    more = first.context["next_query"]
    second = client.get(f"/service/knowledge/?{more}")
    assert second.content.decode().count('data-testid="article-row"') == 2
    broken = client.get("/service/knowledge/?cursor=broken")
    assert broken.status_code == 200 and broken.context["cursor_error"]


def test_the_list_page_query_count_does_not_grow_with_the_rows(org: Org) -> None:
    client = login_client(org.rep)
    make_article(org.agent, "一", tags="甲, 乙")
    client.get("/service/knowledge/")
    with CaptureQueriesContext(connection) as few:
        client.get("/service/knowledge/")
    for index in range(10):
        make_article(org.agent, f"条目{index}", tags=f"标签{index}, 甲")
    with CaptureQueriesContext(connection) as many:
        client.get("/service/knowledge/")
    assert len(many) == len(few)


def test_the_text_is_shown_as_typed_never_as_markup(org: Org) -> None:
    article = make_article(
        org.agent,
        "含标记的条目",
        '第一段<script>alert("x")</script>\n第二行\n\n<b>第二段</b>',
    )
    body = login_client(org.rep).get(f"/service/knowledge/articles/{article.pk}/").content.decode()
    text = body.split('data-testid="article-body">')[1].split("</div>")[0]
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<b>" not in text and "&lt;b&gt;" in text
    assert "<br>" in text and text.count("<p>") == 2


def test_a_handler_writes_a_draft_and_an_agent_publishes_from_the_form(org: Org) -> None:
    ticket_category = make_ticket_category()
    data = {
        "title": "换货流程",
        "kind": "solution",
        "category": knowledge_category().pk,
        "body": "登记后寄回。",
        "tags": "换货, 物流",
        "ticket_categories": [ticket_category.pk],
        "publish": "on",
    }
    # the handler's form has no "publish now"; what they post stays a draft
    handler = login_client(org.handler)
    assert "publish" not in handler.get("/service/knowledge/articles/new/").context["form"].fields
    response = handler.post("/service/knowledge/articles/new/", data)
    draft = Article.objects.get(title="换货流程")
    assert response.status_code == 302 and response["Location"].endswith(f"/{draft.pk}/")
    assert draft.status == "draft" and draft.author == org.handler
    assert sorted(draft.tags.values_list("name", flat=True)) == ["换货", "物流"]
    # an agent's article is published at once when asked
    login_client(org.agent).post("/service/knowledge/articles/new/", {**data, "title": "退货流程"})
    assert Article.objects.get(title="退货流程").status == "published"


def test_form_errors_come_back_on_the_form_and_nothing_is_written(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    response = login_client(org.handler, language="en").post(
        "/service/knowledge/articles/new/",
        {
            "title": "备忘",
            "kind": "customer_note",
            "category": knowledge_category().pk,
            "body": "内容",
            "customers": [customer.pk],
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["customers"] == ["Choose customers you can see."]
    assert db_state() == before


def test_an_edit_over_a_newer_version_shows_both_values(org: Org) -> None:
    article = make_article(org.agent, "退货流程")
    services.article_update(actor=org.admin, article=article, data={"title": "退货流程（新）"})
    before = db_state()
    response = login_client(org.agent).post(
        f"/service/knowledge/articles/{article.pk}/edit/",
        {
            "version": 1,
            "title": "退货流程（我的）",
            "kind": article.kind,
            "category": article.category_id,
            "body": article.body,
        },
    )
    assert response.status_code == 409
    assert response.context["conflict"]["title"] == {
        "yours": "退货流程（我的）",
        "theirs": "退货流程（新）",
    }
    assert db_state() == before


def test_publishing_from_the_page_needs_the_current_version(org: Org) -> None:
    draft = make_article(org.handler, status="draft")
    services.article_update(actor=org.handler, article=draft, data={"title": "改过"})
    before = db_state()
    stale = login_client(org.agent).post(
        f"/service/knowledge/articles/{draft.pk}/status/", {"version": 1, "status": "published"}
    )
    assert stale.status_code == 400 and db_state() == before
    fresh = login_client(org.agent).post(
        f"/service/knowledge/articles/{draft.pk}/status/", {"version": 2, "status": "published"}
    )
    assert fresh.status_code == 302
    assert Article.objects.get(pk=draft.pk).status == "published"


def test_used_to_solve_this_goes_back_to_the_ticket(org: Org) -> None:
    # given
    article = make_article(org.agent)
    ticket = make_ticket(make_customer(org.rep), make_ticket_category(), team=service_team(org))
    # when
    response = login_client(org.handler).post(
        f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/link/"
    )
    # then back to the ticket's page, or to the article's until the service desk has one
    expected = ticket_page_url(ticket.pk) or f"/service/knowledge/articles/{article.pk}/"
    assert response.status_code == 302 and response["Location"] == expected
    assert TicketArticleLink.objects.get().linked_by == org.handler
    # and the article lists the ticket for those who can see it
    page = login_client(org.rep).get(f"/service/knowledge/articles/{article.pk}/").content.decode()
    assert ticket.number in page
    page = login_client(org.outsider).get(f"/service/knowledge/articles/{article.pk}/").content
    assert ticket.number not in page.decode()


def test_a_draft_cannot_be_used_on_a_ticket(org: Org) -> None:
    draft = make_article(org.agent, status="draft")
    ticket = make_ticket(make_customer(org.rep), make_ticket_category())
    before = db_state()
    response = login_client(org.agent, language="en").post(
        f"/service/knowledge/tickets/{ticket.pk}/articles/{draft.pk}/link/", follow=True
    )
    assert "Only a published article can be linked to a ticket." in response.content.decode()
    assert db_state() == before
