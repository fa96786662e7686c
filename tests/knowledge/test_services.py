"""The article services: validation (every field error at once, nothing written), publishing
rules, optimistic locking, audit, recycle bin, categories and their seed."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from guanxi.core.exceptions import ConflictError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.selectors import recycle_bin_list
from guanxi.core.services import object_restore
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import Article, KnowledgeCategory, KnowledgeTag
from guanxi.service.knowledge.selectors import article_list
from tests.conftest import Org
from tests.knowledge.conftest import (
    db_state,
    knowledge_category,
    make_article,
    make_customer,
    make_ticket_category,
)

pytestmark = pytest.mark.django_db


def _errors(caught: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return caught.value.message_dict


def test_an_article_is_written_with_its_tags_categories_and_audit(org: Org) -> None:
    # given
    ticket_category = make_ticket_category()
    # when
    article = services.article_create(
        actor=org.handler,
        title="  换货流程 ",
        body="第一步：登记。\r\n第二步：寄回。\r\n\r\n注意：保留快递单。",
        kind="solution",
        category=knowledge_category().pk,
        tags="换货， 物流、换货;  售后  服务 ",
        ticket_categories=[ticket_category.pk],
    )
    # then
    article = Article.objects.get(pk=article.pk)
    assert article.title == "换货流程"
    assert article.body == "第一步：登记。\n第二步：寄回。\n\n注意：保留快递单。"
    assert article.status == "draft" and article.published_at is None
    assert article.author == org.handler and article.created_by == org.handler
    assert [tag.name for tag in article.tags.order_by("pk")] == ["换货", "物流", "售后 服务"]
    assert list(article.ticket_categories.all()) == [ticket_category]
    entry = AuditEntry.objects.get(object_type="knowledge.article", object_id=str(article.pk))
    assert entry.action == "create"
    assert entry.changes["tags"] == {"before": None, "after": ["换货", "物流", "售后 服务"]}
    assert entry.changes["title"] == {"before": None, "after": "换货流程"}


def test_every_bad_field_is_named_at_once_and_nothing_is_written(org: Org) -> None:
    # given
    inactive = knowledge_category("billing")
    inactive.active = False
    inactive.save()
    before = db_state()
    # when
    with pytest.raises(ValidationError) as caught:
        services.article_create(
            actor=org.agent,
            title="  ",
            body="长" * 20001,
            kind="poem",
            category=inactive.pk,
            tags=["好"] * 1 + ["标签" * 30],
            ticket_categories=[999999],
        )
    # then
    assert set(_errors(caught)) == {
        "title",
        "body",
        "kind",
        "category",
        "tags",
        "ticket_categories",
    }
    assert db_state() == before


def test_a_customer_note_names_customers_the_writer_can_see(org: Org) -> None:
    hidden = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.article_create(
            actor=org.handler,
            title="备忘",
            body="内容",
            category=knowledge_category(),
            kind="customer_note",
        )
    assert set(_errors(caught)) == {"customers"}
    with pytest.raises(ValidationError) as caught:
        services.article_create(
            actor=org.handler,
            title="备忘",
            body="内容",
            category=knowledge_category(),
            kind="customer_note",
            customers=[hidden.pk],
        )
    assert set(_errors(caught)) == {"customers"}
    assert db_state() == before


def test_only_agents_and_administrators_publish(org: Org) -> None:
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        make_article(org.handler, status="published")
    draft = make_article(org.handler, status="draft")
    middle = db_state()
    with pytest.raises(PermissionDeniedError):
        services.article_status_set(actor=org.handler, article=draft, status="published")
    assert db_state() == middle
    assert before != middle
    published = services.article_status_set(actor=org.agent, article=draft, status="published")
    assert published.status == "published" and published.published_at is not None
    first = published.published_at
    archived = services.article_status_set(actor=org.agent, article=published, status="archived")
    again = services.article_status_set(actor=org.admin, article=archived, status="published")
    assert again.published_at == first  # the first publication is kept


def test_a_stale_version_is_a_conflict_and_changes_nothing(org: Org) -> None:
    article = make_article(org.agent, tags="退货")
    services.article_update(
        actor=org.agent, article=article, data={"title": "新"}, expected_version=1
    )
    before = db_state()
    with pytest.raises(ConflictError) as caught:
        services.article_update(
            actor=org.admin,
            article=article,
            data={"title": "旧", "tags": "换货"},
            expected_version=1,
        )
    assert caught.value.extra["conflicts"]["title"] == {"yours": "旧", "theirs": "新"}
    assert db_state() == before


def test_relations_are_audited_and_bump_the_version_once(org: Org) -> None:
    article = make_article(org.agent, tags="退货")
    ticket_category = make_ticket_category()
    updated = services.article_update(
        actor=org.agent,
        article=article,
        data={"tags": "退货, 换货", "ticket_categories": [ticket_category.pk]},
        expected_version=1,
    )
    assert updated.version == 2
    entry = AuditEntry.objects.filter(object_type="knowledge.article", action="update").get()
    assert entry.changes == {
        "tags": {"before": ["退货"], "after": ["退货", "换货"]},
        "ticket_categories": {"before": [], "after": [ticket_category.pk]},
    }
    assert KnowledgeTag.objects.filter(name="换货").exists()


def test_a_category_switched_off_stays_on_its_articles_only(org: Org) -> None:
    article = make_article(org.agent)
    category = knowledge_category()
    services.knowledge_category_update(actor=org.admin, category=category, data={"active": False})
    # the article keeps it through an edit of another field
    services.article_update(
        actor=org.agent, article=article, data={"title": "改", "category": category.pk}
    )
    # a new article cannot choose it
    with pytest.raises(ValidationError) as caught:
        make_article(org.agent, category=category)
    assert set(_errors(caught)) == {"category"}


def test_unknown_fields_are_refused(org: Org) -> None:
    article = make_article(org.agent)
    with pytest.raises(ValidationError) as caught:
        services.article_update(actor=org.agent, article=article, data={"view_count": 99})
    assert set(_errors(caught)) == {"view_count"}


def test_the_recycle_bin_takes_and_gives_back_an_article(org: Org) -> None:
    article = make_article(org.agent, "退货流程")
    services.article_delete(actor=org.agent, article=article)
    assert not article_list(actor=org.agent).filter(pk=article.pk).exists()
    items = recycle_bin_list(actor=org.agent)
    assert [(item.object_type, item.pk) for item in items] == [("knowledge.article", article.pk)]
    object_restore(instance=Article.all_objects.get(pk=article.pk), actor=org.agent)
    assert article_list(actor=org.agent, query="退货").get() == article


def test_categories_are_added_and_renamed_but_their_code_stays(org: Org) -> None:
    category = services.knowledge_category_create(
        actor=org.admin, code=" Warranty ", name=" 保修 ", position=70
    )
    assert (category.code, category.name) == ("warranty", "保修")
    with pytest.raises(ValidationError):
        services.knowledge_category_create(actor=org.admin, code="warranty", name="重复")
    with pytest.raises(ValidationError):
        services.knowledge_category_update(actor=org.admin, category=category, data={"code": "x"})
    renamed = services.knowledge_category_update(
        actor=org.admin, category=category, data={"name": "保修政策"}, expected_version=1
    )
    assert renamed.name == "保修政策" and renamed.version == 2


def test_the_seed_migration_can_be_reversed(org: Org) -> None:
    # given the seeded list, one of them in use
    migration = importlib.import_module(
        "guanxi.service.knowledge.migrations.0002_default_categories"
    )
    codes = [code for code, _name, _description in migration.CATEGORIES]
    assert set(KnowledgeCategory.objects.values_list("code", flat=True)) == set(codes)
    make_article(org.agent, category=knowledge_category("billing"))
    # when reversed
    migration.unseed(apps, None)
    # then only the category in use stays; seeding again brings the rest back
    assert list(KnowledgeCategory.all_objects.values_list("code", flat=True)) == ["billing"]
    migration.seed(apps, None)
    assert set(KnowledgeCategory.objects.values_list("code", flat=True)) == set(codes)
