"""Who reads what: published articles for everyone, drafts for their author and the publishers,
and an article that names customers only for those who can see every one of them."""

from __future__ import annotations

import pytest

from guanxi.service.knowledge import services
from guanxi.service.knowledge.selectors import article_list, knowledge_tag_list
from tests.conftest import ApiClient, Org, login_client
from tests.knowledge.conftest import make_article, make_customer

pytestmark = pytest.mark.django_db


def _readers(org: Org, article_pk: int) -> set[str]:
    users = {
        "admin": org.admin,
        "manager": org.manager,
        "rep": org.rep,
        "other_rep": org.other_rep,
        "kam": org.kam,
        "handler": org.handler,
        "analyst": org.analyst,
        "outsider": org.outsider,
    }
    return {
        name
        for name, user in users.items()
        if article_list(actor=user, status="").filter(pk=article_pk).exists()
    }


def test_a_customer_note_follows_its_customer(org: Org) -> None:
    # given a note about the rep's customer (华东组, under 销售部)
    customer = make_customer(org.rep, "华为技术有限公司")
    note = make_article(
        org.admin,
        "华为的收货习惯",
        "只在工作日收货。",
        kind="customer_note",
        customers=[customer.pk],
    )
    # then the rep, their manager, administrators and analysts read it; the rep of 华北组, the
    # key-account manager (own customers), the handler (their department) and the outsider not
    assert _readers(org, note.pk) == {"admin", "manager", "rep", "analyst"}


def test_a_note_naming_two_customers_needs_both(org: Org) -> None:
    east = make_customer(org.rep, "华为技术有限公司")
    north = make_customer(org.other_rep, "腾讯科技有限公司")
    note = make_article(
        org.admin,
        "两家的共同约定",
        "统一月结。",
        kind="customer_note",
        customers=[east.pk, north.pk],
    )
    # the manager sees both (their subtree); each rep sees one customer only
    assert _readers(org, note.pk) == {"admin", "manager", "analyst"}


def test_a_note_about_a_pool_customer_is_read_by_everyone(org: Org) -> None:
    pooled = make_customer(None, "公海客户有限公司")
    note = make_article(
        org.admin, "公海客户备忘", "曾多次询价。", kind="customer_note", customers=[pooled.pk]
    )
    assert _readers(org, note.pk) == {
        "admin",
        "manager",
        "rep",
        "other_rep",
        "kam",
        "handler",
        "analyst",
        "outsider",
    }


def test_a_note_stays_hidden_when_its_customer_moves_out_of_scope(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    note = make_article(
        org.admin, "华为备忘", "内容。", kind="customer_note", customers=[customer.pk]
    )
    assert "rep" in _readers(org, note.pk)
    customer.owner = org.other_rep
    customer.department = org.north
    customer.save()
    assert "rep" not in _readers(org, note.pk)
    assert "other_rep" in _readers(org, note.pk)


def test_a_hidden_note_is_a_404_on_the_page_and_the_api_and_its_tags_stay_hidden(
    org: Org,
) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    note = make_article(
        org.admin,
        "华为备忘",
        "内容。",
        kind="customer_note",
        customers=[customer.pk],
        tags="华为专属",
    )
    assert (
        login_client(org.other_rep).get(f"/service/knowledge/articles/{note.pk}/").status_code
        == 404
    )
    assert ApiClient(org.other_rep).get(f"/api/v1/knowledge/articles/{note.pk}").status_code == 404
    assert list(knowledge_tag_list(actor=org.other_rep)) == []
    assert [tag.name for tag in knowledge_tag_list(actor=org.rep)] == ["华为专属"]
    # nor does the list name it
    page = login_client(org.other_rep).get("/service/knowledge/").content.decode()
    assert "华为备忘" not in page and "华为专属" not in page


def test_drafts_are_read_by_their_author_and_the_publishers(org: Org) -> None:
    draft = make_article(org.handler, "草稿", "未完成。", status="draft")
    assert _readers(org, draft.pk) == {"admin", "handler"}
    assert article_list(actor=org.agent).filter(pk=draft.pk).exists()


def test_archived_articles_leave_the_list_unless_asked_for(org: Org) -> None:
    article = make_article(org.agent, "旧政策")
    services.article_status_set(actor=org.agent, article=article, status="archived")
    assert not article_list(actor=org.rep).filter(pk=article.pk).exists()
    assert article_list(actor=org.rep, status="archived").filter(pk=article.pk).exists()
    assert (
        login_client(org.rep).get(f"/service/knowledge/articles/{article.pk}/").status_code == 200
    )


def test_an_inactive_user_reads_nothing(org: Org) -> None:
    make_article(org.agent)
    org.rep.is_active = False
    org.rep.save()
    assert list(article_list(actor=org.rep)) == []
