"""Articles suggested on a ticket: by the ticket's category and by the words its subject and
description share with an article, through the indexes, for what the reader may read."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.service.knowledge import services
from guanxi.service.knowledge.search import SUGGESTION_TERMS, suggestion_terms
from guanxi.service.knowledge.selectors import article_suggestions_for_ticket
from guanxi.service.models import Ticket
from tests.conftest import Org, login_client
from tests.knowledge.conftest import (
    knowledge_category,
    make_article,
    make_customer,
    make_ticket,
    make_ticket_category,
    service_team,
)

pytestmark = pytest.mark.django_db


def _ticket(org: Org, **fields: Any) -> Ticket:
    customer = fields.pop("customer", None) or make_customer(org.rep, "华为技术有限公司")
    category = fields.pop("category", None) or make_ticket_category(f"kb-{Ticket.objects.count()}")
    return make_ticket(customer, category, team=service_team(org), **fields)


def _titles(org: Org, ticket: Ticket, actor: Any = None, **options: Any) -> list[str]:
    articles = article_suggestions_for_ticket(actor=actor or org.agent, ticket=ticket, **options)
    return [article.title for article in articles]


def test_articles_for_the_category_and_with_shared_words_are_suggested(org: Org) -> None:
    # given a ticket about a broken parcel that the customer wants to return
    ticket = _ticket(
        org, subject="客户要求退货", description="收到的货物外包装破损，客户要求退货退款。"
    )
    make_article(
        org.agent, "换货登记表", "登记后安排换货。", ticket_categories=[ticket.category_id]
    )
    make_article(org.agent, "退货退款处理流程", "外包装破损时先拍照，再办理退货退款。")
    make_article(org.agent, "发票重开", "作废原发票后重新开具。")
    # then the category's article and the one sharing words, not the unrelated one
    assert set(_titles(org, ticket)) == {"换货登记表", "退货退款处理流程"}


def test_the_category_and_more_shared_words_rank_higher(org: Org) -> None:
    ticket = _ticket(org, subject="外包装破损要求退货", description="客户要求退货退款。")
    make_article(org.agent, "破损退货", "外包装破损。")
    make_article(
        org.agent, "破损退货（本类）", "外包装破损。", ticket_categories=[ticket.category_id]
    )
    make_article(org.agent, "退货退款处理流程", "外包装破损时拍照，要求退货退款的先登记。")
    articles = article_suggestions_for_ticket(actor=org.agent, ticket=ticket)
    scores = {article.title: article.suggestion_score for article in articles}
    # the same words, plus the category
    assert scores["破损退货（本类）"] == scores["破损退货"] + 3
    assert [article.suggestion_score for article in articles] == sorted(scores.values())[::-1]
    assert {article.title: article.category_match for article in articles} == {
        "破损退货": False,
        "破损退货（本类）": True,
        "退货退款处理流程": False,
    }


def test_one_shared_word_is_not_enough_outside_the_category(org: Org) -> None:
    ticket = _ticket(org, subject="客户投诉", description="客户不满意。")
    make_article(org.agent, "客户回访话术", "回访时先问候。")  # shares only 客户
    assert _titles(org, ticket) == []


def test_only_published_articles_the_reader_may_read_are_suggested(org: Org) -> None:
    # given
    ticket = _ticket(org, subject="退货退款", description="外包装破损。")
    category = [ticket.category_id]
    make_article(org.agent, "已发布", "退货退款。", ticket_categories=category)
    make_article(org.handler, "草稿", "退货退款。", status="draft", ticket_categories=category)
    archived = make_article(org.agent, "已归档", "退货退款。", ticket_categories=category)
    services.article_status_set(actor=org.agent, article=archived, status="archived")
    deleted = make_article(org.agent, "已删除", "退货退款。", ticket_categories=category)
    services.article_delete(actor=org.agent, article=deleted)
    other = make_customer(org.other_rep, "腾讯科技有限公司")
    make_article(
        org.admin,
        "腾讯的退货约定",
        "退货退款须经采购部确认。",
        kind="customer_note",
        customers=[other.pk],
        ticket_categories=category,
    )
    # then the rep, who sees the ticket's customer but not 腾讯, gets the published one only
    assert _titles(org, ticket, actor=org.rep) == ["已发布"]
    # and an administrator gets the customer note too
    assert set(_titles(org, ticket, actor=org.admin)) == {"已发布", "腾讯的退货约定"}


def test_articles_already_used_on_the_ticket_are_left_out(org: Org) -> None:
    ticket = _ticket(org, subject="退货退款", description="外包装破损。")
    used = make_article(
        org.agent, "退货退款流程", "退货退款。", ticket_categories=[ticket.category_id]
    )
    make_article(org.agent, "退货退款须知", "退货退款。", ticket_categories=[ticket.category_id])
    services.article_ticket_link(actor=org.agent, article=used, ticket=ticket)
    assert _titles(org, ticket) == ["退货退款须知"]


def test_ties_go_to_the_article_used_more_often_and_the_limit_holds(org: Org) -> None:
    ticket = _ticket(org, subject="退货退款", description="")
    category = [ticket.category_id]
    first = make_article(org.agent, "甲", "退货退款。", ticket_categories=category)
    second = make_article(org.agent, "乙", "退货退款。", ticket_categories=category)
    make_article(org.agent, "丙", "退货退款。", ticket_categories=category)
    for other_subject in ("退货", "退款"):
        services.article_ticket_link(
            actor=org.agent,
            article=first,
            ticket=_ticket(org, subject=other_subject, category=ticket.category),
        )
    services.article_ticket_link(
        actor=org.agent, article=second, ticket=_ticket(org, category=ticket.category)
    )
    assert _titles(org, ticket) == ["甲", "乙", "丙"]
    assert _titles(org, ticket, limit=2) == ["甲", "乙"]
    assert len(_titles(org, ticket, limit=0)) == 1


def test_a_ticket_with_nothing_to_go_on_gets_no_suggestion(org: Org) -> None:
    ticket = _ticket(org, subject="？", description="……")
    make_article(org.agent)
    assert _titles(org, ticket) == []


def test_the_query_count_does_not_grow_with_the_articles(org: Org) -> None:
    ticket = _ticket(org, subject="外包装破损要求退货", description="客户要求退货退款。")
    for index in range(3):
        make_article(
            org.agent, f"退货流程{index}", "退货退款。", ticket_categories=[ticket.category_id]
        )
    article_suggestions_for_ticket(actor=org.rep, ticket=ticket)  # the role's settings, cached
    with CaptureQueriesContext(connection) as few:
        article_suggestions_for_ticket(actor=org.rep, ticket=ticket)
    for index in range(20):
        make_article(org.agent, f"破损退货{index}", "外包装破损，退货退款。")
    with CaptureQueriesContext(connection) as many:
        suggestions = article_suggestions_for_ticket(actor=org.rep, ticket=ticket)
    assert len(many) == len(few) == 1
    assert len(suggestions) == 5


def test_candidates_come_through_the_search_index(org: Org) -> None:
    ticket = _ticket(org, subject="外包装破损要求退货", description="")
    make_article(org.agent, "退货流程", "外包装破损。")
    with CaptureQueriesContext(connection) as queries:
        article_suggestions_for_ticket(actor=org.agent, ticket=ticket)
    sql = queries.captured_queries[-1]["sql"]
    if connection.vendor == "postgresql":
        assert "@@" in sql and "::tsquery" in sql
    else:
        assert "knowledge_article_fts" in sql and "MATCH" in sql


def test_suggestion_terms_keep_the_useful_words_in_order() -> None:
    assert suggestion_terms(["退货", "外包装破损"]) == ["退货", "外包", "包装", "装破", "破损"]
    # one character, short words and short numbers say nothing
    assert suggestion_terms(["货 is a 12 VPN 8443"]) == ["vpn", "8443"]
    # repeats once, and at most SUGGESTION_TERMS
    long = "，".join(f"{chr(0x4E00 + index)}{chr(0x4E80 + index)}" for index in range(60))
    assert len(suggestion_terms([long])) == SUGGESTION_TERMS
    assert suggestion_terms(["退货退货", "退货"]) == ["退货", "货退"]


# --- the ticket page's fragment and "used to solve this" ----------------------------------------


def test_the_fragment_lists_suggestions_and_offers_the_link_to_who_works_the_ticket(
    org: Org,
) -> None:
    ticket = _ticket(org, subject="退货退款", description="外包装破损。")
    article = make_article(
        org.agent, "退货退款流程", "退货退款。", ticket_categories=[ticket.category_id]
    )
    path = f"/service/knowledge/suggest/tickets/{ticket.pk}/"
    link = f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/link/"
    # the handler works the ticket: the fragment alone, with the button
    response = login_client(org.handler).get(path, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="knowledge-suggestions"' in body
    assert "退货退款流程" in body and link in body
    # the rep reads it: no button; opened as a link, a whole page
    response = login_client(org.rep).get(path)
    body = response.content.decode()
    assert "<html" in body and "退货退款流程" in body and link not in body


def test_linking_from_the_fragment_moves_the_article_to_the_used_ones(org: Org) -> None:
    ticket = _ticket(org, subject="退货退款", description="外包装破损。")
    article = make_article(
        org.agent, "退货退款流程", "退货退款。", ticket_categories=[ticket.category_id]
    )
    response = login_client(org.agent).post(
        f"/service/knowledge/tickets/{ticket.pk}/articles/{article.pk}/link/",
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="knowledge-linked-article"' in body
    assert 'data-testid="knowledge-suggestion"' not in body
    assert ticket.knowledge_links.get().article == article
    assert knowledge_category().articles.get().link_count == 1
