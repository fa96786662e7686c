"""Access helpers of the knowledge base: 404 when an article is outside the reader's view, 403
when it is read-only to them.

Who writes: service agents, department handlers and administrators create articles; agents and
administrators edit, publish, archive and delete any article they can see; a department handler
edits and deletes their own drafts (publishing is for agents and administrators). Everyone reads
what ``selectors.article_visible_q`` lets them. The categories are the administrators'.
"""

from __future__ import annotations

from typing import Any

from guanxi.accounts.roles import Role
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.service.knowledge.models import Article, ArticleStatus, KnowledgeCategory
from guanxi.service.knowledge.roles import KNOWLEDGE_PUBLISHER_ROLES, KNOWLEDGE_WRITER_ROLES
from guanxi.service.knowledge.selectors import article_visible_queryset


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _row_id(value: Any) -> int:
    """``value`` as a row id; anything that is not one (or past the 64-bit column) is no row."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def article_can_create(actor: Any) -> bool:
    return _active(actor) and actor.role in KNOWLEDGE_WRITER_ROLES


def article_require_create(actor: Any) -> None:
    if not article_can_create(actor):
        raise PermissionDeniedError()


def article_can_publish(actor: Any) -> bool:
    """Publish, archive or take back to draft (any article the actor can see)."""
    return _active(actor) and actor.role in KNOWLEDGE_PUBLISHER_ROLES


def article_can_edit(actor: Any, article: Article) -> bool:
    """For an article ``actor`` can already see: may they change or delete it?"""
    if not _active(actor):
        return False
    if actor.role in KNOWLEDGE_PUBLISHER_ROLES:
        return True
    return (
        actor.role in KNOWLEDGE_WRITER_ROLES
        and article.author_id == actor.pk
        and article.status == ArticleStatus.DRAFT
    )


def article_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Article:
    article = (
        article_visible_queryset(actor=actor)
        .select_related("category", "author")
        .filter(pk=_row_id(pk))
        .first()
    )
    if article is None:
        raise NotFoundError()
    if write and not article_can_edit(actor, article):
        raise PermissionDeniedError()
    return article


def article_require_publish(actor: Any) -> None:
    if not article_can_publish(actor):
        raise PermissionDeniedError()


def knowledge_category_can_edit(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def knowledge_category_require_edit(actor: Any) -> None:
    if not knowledge_category_can_edit(actor):
        raise PermissionDeniedError()


def knowledge_category_get_for_user(
    actor: Any, pk: Any, *, write: bool = False
) -> KnowledgeCategory:
    if not _active(actor):
        raise NotFoundError()
    category = KnowledgeCategory.objects.filter(pk=_row_id(pk)).first()
    if category is None:
        raise NotFoundError()
    if write:
        knowledge_category_require_edit(actor)
    return category
