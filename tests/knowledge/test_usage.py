"""Usage counts: readers (once per reader and day) and the tickets an article solved; shown on
the article and the list, and sortable."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.core.exceptions import ApplicationError
from guanxi.core.models import AuditEntry
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article, ArticleView
from guanxi.service.knowledge.selectors import article_page
from tests.conftest import ApiClient, Org, login_client
from tests.knowledge.conftest import (
    db_state,
    make_article,
    make_customer,
    make_ticket,
    make_ticket_category,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 23)


def _counts(article: Article) -> tuple[int, int, int]:
    article.refresh_from_db()
    return article.view_count, article.link_count, article.version


def test_a_reader_counts_once_a_day(org: Org) -> None:
    # given
    article = make_article(org.agent)
    # when the rep reads it three times on one day, the analyst once, the rep again the next day
    counted = [
        services.article_view_record(actor=org.rep, article=article, today=DAY),
        services.article_view_record(actor=org.rep, article=article, today=DAY),
        services.article_view_record(actor=org.analyst, article=article, today=DAY),
        services.article_view_record(actor=org.rep, article=article, today=DAY),
        services.article_view_record(actor=org.rep, article=article, today=DAY + dt.timedelta(1)),
    ]
    # then
    assert counted == [True, False, True, False, True]
    assert _counts(article) == (3, 0, 1)  # a counter: the version does not move
    # one row per reader, moved to the last day read
    assert sorted(ArticleView.objects.values_list("user_id", "day")) == sorted(
        [(org.rep.pk, DAY + dt.timedelta(1)), (org.analyst.pk, DAY)]
    )


def test_an_earlier_day_never_counts_again(org: Org) -> None:
    article = make_article(org.agent)
    services.article_view_record(actor=org.rep, article=article, today=DAY)
    assert not services.article_view_record(
        actor=org.rep, article=article, today=DAY - dt.timedelta(1)
    )
    assert _counts(article)[0] == 1


def test_the_page_and_the_api_count_a_read(org: Org) -> None:
    # given
    article = make_article(org.agent)
    updated_at = Article.objects.get(pk=article.pk).updated_at
    # when
    page = login_client(org.rep)
    assert page.get(f"/service/knowledge/articles/{article.pk}/").status_code == 200
    assert page.get(f"/service/knowledge/articles/{article.pk}/").status_code == 200
    api = ApiClient(org.manager)
    first = api.get(f"/api/v1/knowledge/articles/{article.pk}")
    # then the rep counted once and the manager once; the answer already includes the read
    assert first.json()["view_count"] == 2
    assert _counts(article) == (2, 0, 1)
    assert Article.objects.get(pk=article.pk).updated_at == updated_at


def test_the_page_shows_the_counts(org: Org) -> None:
    article = make_article(org.agent)
    response = login_client(org.rep).get(f"/service/knowledge/articles/{article.pk}/")
    body = response.content.decode()
    assert 'data-testid="article-views">1<' in body
    assert 'data-testid="article-links">0<' in body


def test_a_link_counts_once_per_ticket(org: Org) -> None:
    # given
    article = make_article(org.agent)
    category = make_ticket_category()
    customer = make_customer(org.rep, "华为技术有限公司")
    first, second = make_ticket(customer, category), make_ticket(customer, category)
    # when
    link, created = services.article_ticket_link(actor=org.agent, article=article, ticket=first)
    again, created_again = services.article_ticket_link(
        actor=org.agent, article=article, ticket=first
    )
    services.article_ticket_link(actor=org.agent, article=article, ticket=second)
    # then
    assert created and not created_again and again == link
    assert _counts(article) == (0, 2, 1)
    assert link.linked_by == org.agent
    # audited on the ticket, naming the article by id only
    entries = AuditEntry.objects.filter(object_type="service.ticket", object_id=str(first.pk))
    assert [(entry.action, entry.note) for entry in entries] == [
        ("action", f"knowledge_article_linked?article={article.pk}")
    ]


def test_only_a_published_article_is_linked(org: Org) -> None:
    draft = make_article(org.handler, status="draft")
    archived = make_article(org.agent)
    services.article_status_set(actor=org.agent, article=archived, status="archived")
    ticket = make_ticket(make_customer(org.rep), make_ticket_category())
    before = db_state()
    for article in (draft, Article.objects.get(pk=archived.pk)):
        with pytest.raises(ApplicationError) as caught:
            services.article_ticket_link(actor=org.agent, article=article, ticket=ticket)
        assert caught.value.code == "article_not_published"
        assert caught.value.status_code == 409
    assert db_state() == before


def test_the_list_sorts_by_views_and_by_use(org: Org) -> None:
    # given three articles read and used differently
    read_most = make_article(org.agent, "甲")
    used_most = make_article(org.agent, "乙")
    neither = make_article(org.agent, "丙")
    for reader in (org.rep, org.manager, org.analyst):
        services.article_view_record(actor=reader, article=read_most)
    services.article_view_record(actor=org.rep, article=used_most)
    customer = make_customer(org.rep)
    category = make_ticket_category()
    for _index in range(2):
        services.article_ticket_link(
            actor=org.agent, article=used_most, ticket=make_ticket(customer, category)
        )
    # then
    by_views = article_page(actor=org.rep, sort="-view_count").items
    by_links = article_page(actor=org.rep, sort="-link_count").items
    assert [a.pk for a in by_views] == [read_most.pk, used_most.pk, neither.pk]
    assert [a.pk for a in by_links][0] == used_most.pk
    # and the page and API offer the same sorts
    page = login_client(org.rep).get("/service/knowledge/?sort=-link_count")
    rows = page.content.decode()
    assert rows.index("乙") < rows.index("甲")
    answer = ApiClient(org.rep).get("/api/v1/knowledge/articles", sort="-view_count").json()
    assert [item["title"] for item in answer["items"]] == ["甲", "乙", "丙"]
    assert [item["view_count"] for item in answer["items"]] == [3, 1, 0]


def test_counters_never_conflict_with_an_edit(org: Org) -> None:
    # given an editor who read version 1
    article = make_article(org.agent)
    services.article_view_record(actor=org.rep, article=article, today=timezone.localdate())
    # when they save with that version
    services.article_update(
        actor=org.agent, article=article, data={"title": "新标题"}, expected_version=1
    )
    # then it went through
    assert _counts(article) == (1, 0, 2)
