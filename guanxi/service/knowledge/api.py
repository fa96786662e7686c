"""REST endpoints of the knowledge base: /knowledge/articles (list and search, read, write,
recycle bin), /knowledge/tickets/{id}/suggestions and the link "used to solve this" (made with
POST, taken back with DELETE), and /knowledge/categories."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.core.exceptions import validation_error_renamed
from guanxi.service.knowledge import services
from guanxi.service.knowledge.models import (
    Article,
    ArticleKind,
    ArticleStatus,
    KnowledgeCategory,
    TicketArticleLink,
)
from guanxi.service.knowledge.permissions import (
    article_get_for_user,
    article_require_create,
    knowledge_category_get_for_user,
    knowledge_category_require_edit,
)
from guanxi.service.knowledge.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePage,
    ArticlePatchIn,
    KnowledgeCategoryIn,
    KnowledgeCategoryOut,
    KnowledgeCategoryPatchIn,
    SuggestionsOut,
    TicketLinkOut,
)
from guanxi.service.knowledge.selectors import (
    article_detail,
    article_links_for_ticket,
    article_page,
    article_suggestions_for_ticket,
    article_tickets,
    knowledge_category_list,
)
from guanxi.service.permissions import ticket_get_for_user

router = Router(tags=["knowledge"])

EXCERPT_CHARS = 200

# The API names related records by id; services name the model fields.
_API_FIELD_NAMES = {
    "category": "category_id",
    "ticket_categories": "ticket_category_ids",
    "customers": "customer_ids",
}


def _api_fields(error: ValidationError) -> ValidationError:
    return validation_error_renamed(error, _API_FIELD_NAMES)


def _summary_out(article: Article) -> dict[str, Any]:
    """``article`` with its category, author and tags loaded (selectors.article_page)."""
    return {
        "id": article.pk,
        "title": article.title,
        "excerpt": article.body[:EXCERPT_CHARS],
        "kind": article.kind,
        "kind_label": article.get_kind_display(),
        "category_id": article.category_id,
        "category_name": article.category.name,
        "tags": [tag.name for tag in article.tags.all()],
        "status": article.status,
        "author_id": article.author_id,
        "author_name": article.author.get_full_name() if article.author else "",
        "published_at": article.published_at,
        "view_count": article.view_count,
        "link_count": article.link_count,
        "version": article.version,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
    }


def _article_out(request: HttpRequest, article: Article) -> dict[str, Any]:
    article = article_detail(article=article)
    return {
        **_summary_out(article),
        "body": article.body,
        "ticket_category_ids": [row.pk for row in article.ticket_categories.all()],
        "customers": [{"id": row.pk, "name": row.name} for row in article.customers.all()],
        "tickets": [
            {
                "id": link.ticket_id,
                "number": link.ticket.number,
                "subject": link.ticket.subject,
                "linked_at": link.linked_at,
                "linked_by_id": link.linked_by_id,
            }
            for link in article_tickets(actor=request.auth, article=article)
        ],
    }


def _link_out(link: TicketArticleLink) -> dict[str, Any]:
    return {
        "id": link.pk,
        "ticket_id": link.ticket_id,
        "article_id": link.article_id,
        "article_title": link.article.title,
        "linked_at": link.linked_at,
        "linked_by_id": link.linked_by_id,
    }


def _choice_check(name: str, value: str, choices: list[str]) -> None:
    if value and value not in choices:
        raise ValidationError({name: [_("Select a valid choice.")]}, code="invalid_choice")


# --- articles -----------------------------------------------------------------------------------


@router.get("/knowledge/articles", response=ArticlePage)
def article_index(
    request: HttpRequest,
    q: str = "",
    category_id: int | None = None,
    kind: str = "",
    status: str = "",
    tag: str = "",
    customer_id: int | None = None,
    ticket_category_id: int | None = None,
    sort: str = "-updated_at",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The articles you may read, searched by ``q`` (title, tags and the start of the text;
    Chinese, pinyin or initials) and filtered. Without ``status`` the current ones (published,
    and the drafts you may see); ``status=archived`` for the archive. ``sort``: ``-updated_at``,
    ``-view_count``, ``-link_count`` or ``title``."""
    _choice_check("kind", kind, ArticleKind.values)
    _choice_check("status", status, ArticleStatus.values)
    page = article_page(
        actor=request.auth,
        query=q[:100],
        category=category_id,
        kind=kind,
        status=status,
        tag=tag,
        customer=customer_id,
        ticket_category=ticket_category_id,
        sort=sort,
        cursor=cursor,
        limit=limit,
    )
    return {"items": [_summary_out(item) for item in page.items], "next_cursor": page.next_cursor}


@router.post("/knowledge/articles", response={201: ArticleOut})
def article_add(request: HttpRequest, payload: ArticleIn) -> Status[Any]:
    """Write an article (service agents, department handlers, administrators). ``status``
    ``published`` is for agents and administrators; a customer note names its customers."""
    article_require_create(request.auth)
    try:
        article = services.article_create(
            actor=request.auth,
            title=payload.title,
            body=payload.body,
            kind=payload.kind,
            category=payload.category_id,
            tags=payload.tags,
            ticket_categories=payload.ticket_category_ids,
            customers=payload.customer_ids,
            status=payload.status,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _article_out(request, article))


@router.get("/knowledge/articles/{article_id}", response=ArticleOut)
def article_show(request: HttpRequest, article_id: int) -> dict[str, Any]:
    """One article; reading it counts as a view (once a day per reader)."""
    article = article_get_for_user(request.auth, article_id)
    services.article_view_record(actor=request.auth, article=article)
    return _article_out(request, article)


@router.patch("/knowledge/articles/{article_id}", response=ArticleOut)
def article_edit(request: HttpRequest, article_id: int, payload: ArticlePatchIn) -> dict[str, Any]:
    """Change an article: agents and administrators any they see, a handler their own draft.
    Changing ``status`` is for agents and administrators."""
    article = article_get_for_user(request.auth, article_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    renamed = {
        "category_id": "category",
        "ticket_category_ids": "ticket_categories",
        "customer_ids": "customers",
    }
    data = {renamed.get(name, name): value for name, value in data.items()}
    required = {
        name: [_("This field cannot be null.")]
        for name in ("title", "body", "kind", "category", "status")
        if name in data and data[name] is None
    }
    if required:
        raise _api_fields(ValidationError(required, code="null"))
    for name in ("tags", "ticket_categories", "customers"):
        if name in data and data[name] is None:
            data[name] = []
    try:
        updated = services.article_update(
            actor=request.auth, article=article, data=data, expected_version=version
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _article_out(request, updated)


@router.delete("/knowledge/articles/{article_id}", response={204: None})
def article_remove(request: HttpRequest, article_id: int) -> Status[Any]:
    """Move an article to the recycle bin (as ``PATCH``)."""
    article = article_get_for_user(request.auth, article_id, write=True)
    services.article_delete(actor=request.auth, article=article)
    return Status(204, None)


# --- on a ticket --------------------------------------------------------------------------------


@router.get("/knowledge/tickets/{ticket_id}/suggestions", response=SuggestionsOut)
def ticket_suggestions(request: HttpRequest, ticket_id: int, limit: int = 5) -> dict[str, Any]:
    """Published articles that may help with a ticket you can see, best first (its category,
    then words shared with its subject and description), and the articles already used on it."""
    ticket = ticket_get_for_user(request.auth, ticket_id)
    suggestions = article_suggestions_for_ticket(actor=request.auth, ticket=ticket, limit=limit)
    return {
        "items": [
            {
                **_summary_out(article),
                "score": article.suggestion_score,
                "category_match": article.category_match,
                "terms_matched": article.terms_matched,
            }
            for article in _with_tags(suggestions)
        ],
        "linked": [
            _link_out(link) for link in article_links_for_ticket(actor=request.auth, ticket=ticket)
        ],
    }


def _with_tags(articles: list[Article]) -> list[Article]:
    prefetch_related_objects(articles, "tags", "author")
    return articles


@router.post(
    "/knowledge/tickets/{ticket_id}/articles/{article_id}/link",
    response={200: TicketLinkOut, 201: TicketLinkOut},
)
def ticket_article_link(request: HttpRequest, ticket_id: int, article_id: int) -> Status[Any]:
    """Record that a published article was used to solve a ticket (those who work the ticket).
    201 when new, 200 when it was linked already; a draft or archived article is a 409
    ``article_not_published``."""
    ticket = ticket_get_for_user(request.auth, ticket_id, write=True)
    article = article_get_for_user(request.auth, article_id)
    link, created = services.article_ticket_link(actor=request.auth, article=article, ticket=ticket)
    return Status(201 if created else 200, _link_out(link))


@router.delete("/knowledge/tickets/{ticket_id}/articles/{article_id}/link", response={204: None})
def ticket_article_unlink(request: HttpRequest, ticket_id: int, article_id: int) -> Status[Any]:
    """Take back "used to solve this" (those who work the ticket): the article counts one use
    less. 204 whether or not it was linked, so a repeated call is harmless."""
    ticket = ticket_get_for_user(request.auth, ticket_id, write=True)
    article = article_get_for_user(request.auth, article_id)
    services.article_ticket_unlink(actor=request.auth, article=article, ticket=ticket)
    return Status(204, None)


# --- categories ---------------------------------------------------------------------------------


def _category_out(category: KnowledgeCategory) -> dict[str, Any]:
    return {
        "id": category.pk,
        "code": category.code,
        "name": category.name,
        "description": category.description,
        "active": category.active,
        "position": category.position,
        "version": category.version,
    }


@router.get("/knowledge/categories", response=list[KnowledgeCategoryOut])
def category_index(request: HttpRequest) -> list[dict[str, Any]]:
    """Every category (those no longer in use with ``active: false``), in their order."""
    return [_category_out(row) for row in knowledge_category_list(include_inactive=True)]


@router.post("/knowledge/categories", response={201: KnowledgeCategoryOut})
def category_add(request: HttpRequest, payload: KnowledgeCategoryIn) -> Status[Any]:
    knowledge_category_require_edit(request.auth)
    category = services.knowledge_category_create(actor=request.auth, **payload.dict())
    return Status(201, _category_out(category))


@router.patch("/knowledge/categories/{category_id}", response=KnowledgeCategoryOut)
def category_edit(
    request: HttpRequest, category_id: int, payload: KnowledgeCategoryPatchIn
) -> dict[str, Any]:
    """Rename, describe, reorder or switch off (administrators); the ``code`` is fixed."""
    category = knowledge_category_get_for_user(request.auth, category_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    nulls = {
        name: [_("This field cannot be null.")]
        for name in ("name", "position", "active")
        if name in data and data[name] is None
    }
    if nulls:
        raise ValidationError(nulls, code="null")
    if data.get("description", "") is None:
        data["description"] = ""
    updated = services.knowledge_category_update(
        actor=request.auth, category=category, data=data, expected_version=version
    )
    return _category_out(updated)
