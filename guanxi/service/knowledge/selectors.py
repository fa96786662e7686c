"""Reads of the knowledge base. Every article read filters with ``article_visible_q``.

Who reads what: every active user reads published and archived articles; a draft is read by its
author and by the roles that publish (administrators, service agents); an article that names
customers (a customer note, say) only by those who can see every one of those customers, so a
note never tells someone about a customer outside their data scope.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, StrIndex
from django.db.models.lookups import GreaterThan
from django.utils.translation import gettext_lazy as _

from guanxi.core.china.search import (
    fts5_match,
    fts5_match_any,
    postgres_vector_sql,
    search_terms,
    tsquery_text,
    tsquery_text_any,
)
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_visible_q
from guanxi.service.knowledge.models import (
    Article,
    ArticleStatus,
    KnowledgeCategory,
    KnowledgeTag,
    TicketArticleLink,
)
from guanxi.service.knowledge.roles import KNOWLEDGE_PUBLISHER_ROLES
from guanxi.service.knowledge.search import suggestion_terms
from guanxi.service.models import Ticket
from guanxi.service.selectors import ticket_visible_q

ARTICLE_SORTS: dict[str, tuple[str, ...]] = {
    "-updated_at": ("-updated_at", "-id"),
    "-view_count": ("-view_count", "-id"),
    "-link_count": ("-link_count", "-id"),
    "title": ("title", "id"),
}

SUGGESTION_CATEGORY_WEIGHT = 3
"""A suggestion's score: one point per term of the ticket found in the article, and this many
for an article meant for the ticket's category."""

SUGGESTION_MIN_TERMS = 2
"""An article of another category is suggested only when it shares this many of the ticket's
terms: one shared word ("问题", "客户") says nothing."""

SUGGESTION_MAX = 20


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def article_visible_q(actor: Any) -> Q:
    """Articles ``actor`` may read (see the module docstring)."""
    if not _active(actor):
        return Q(pk__in=[])
    visible = Q()
    if actor.role not in KNOWLEDGE_PUBLISHER_ROLES:
        visible &= ~Q(status=ArticleStatus.DRAFT) | Q(author=actor.pk)
    customers = customer_visible_q(actor)
    if customers:  # an empty Q: every customer, so no article is hidden for its customers
        # Links to customers outside the scope; deleted customers keep their scope (all_objects),
        # so a note does not become readable to everyone when its customer is in the recycle bin.
        hidden = Article.customers.through.objects.exclude(
            customer_id__in=Customer.all_objects.filter(customers).values("pk")
        ).values("article_id")
        visible &= ~Q(pk__in=hidden)
    return visible


def article_visible_queryset(*, actor: Any) -> QuerySet[Article]:
    if not _active(actor):
        return Article.objects.none()
    return Article.objects.filter(article_visible_q(actor))


def _search(queryset: QuerySet[Article], query: str) -> QuerySet[Article]:
    """Articles whose key holds every term of ``query`` (as prefixes), through the engine's
    index. A query with nothing searchable in it finds nothing rather than all."""
    terms = search_terms(query)
    if not terms:
        return queryset.none()
    table = Article._meta.db_table
    if connection.vendor == "postgresql":
        vector = postgres_vector_sql(f'"{table}"."search_key"')
        return queryset.filter(
            RawSQL(f"{vector} @@ %s::tsquery", [tsquery_text(terms)], output_field=BooleanField())
        )
    fts = f"{table}_fts"
    return queryset.filter(
        id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [fts5_match(terms)])
    )


def article_list(
    *,
    actor: Any,
    query: str = "",
    category: int | None = None,
    kind: str = "",
    status: str = "",
    tag: str = "",
    customer: int | None = None,
    ticket_category: int | None = None,
    author: int | None = None,
) -> QuerySet[Article]:
    """The articles ``actor`` may read, filtered and searched. Without a ``status`` the current
    ones: published, and the drafts the reader may see; archived articles only when asked."""
    articles = article_visible_queryset(actor=actor)
    ids = {"category": category, "customer": customer, "ticket_category": ticket_category}
    if any(value is not None and not 0 < value < 2**63 for value in (*ids.values(), author)):
        # No row has such an id; past the 64-bit column it would be a database error.
        return articles.none()
    if status:
        articles = articles.filter(status=status)
    else:
        articles = articles.exclude(status=ArticleStatus.ARCHIVED)
    if category is not None:
        articles = articles.filter(category_id=category)
    if kind:
        articles = articles.filter(kind=kind)
    if tag:
        articles = articles.filter(tags__name=tag)
    if customer is not None:
        articles = articles.filter(customers=customer)
    if ticket_category is not None:
        articles = articles.filter(ticket_categories=ticket_category)
    if author is not None:
        articles = articles.filter(author_id=author)
    if query and query.strip():
        articles = _search(articles, query)
    return articles


def _ordering(sort: str) -> tuple[str, ...]:
    ordering = ARTICLE_SORTS.get(sort or "-updated_at")
    if ordering is None:
        raise ValidationError(
            {"sort": [_("Sort by one of: %(choices)s.") % {"choices": ", ".join(ARTICLE_SORTS)}]},
            code="invalid_sort",
        )
    return ordering


def article_page(
    *, actor: Any, sort: str = "-updated_at", cursor: str | None = None, limit: int = 50, **filters
) -> Page:
    """One keyset page of ``article_list`` with what a row shows joined or prefetched: a fixed
    number of queries whatever the page size."""
    ordering = _ordering(sort)
    articles = (
        article_list(actor=actor, **filters)
        .select_related("category", "author")
        .prefetch_related(Prefetch("tags", queryset=KnowledgeTag.objects.order_by("name")))
    )
    return keyset_paginate(articles, ordering=ordering, cursor=cursor, limit=limit)


def article_detail(*, article: Article) -> Article:
    return (
        Article.objects.select_related("category", "author", "created_by", "updated_by")
        .prefetch_related(
            Prefetch("tags", queryset=KnowledgeTag.objects.order_by("name")),
            "ticket_categories",
            Prefetch("customers", queryset=Customer.all_objects.order_by("name", "id")),
        )
        .get(pk=article.pk)
    )


def article_tickets(*, actor: Any, article: Article, limit: int = 50) -> list[TicketArticleLink]:
    """The tickets ``article`` was used on that ``actor`` may see, newest link first."""
    if not _active(actor):
        return []
    return list(
        TicketArticleLink.objects.filter(article=article, ticket__deleted_at__isnull=True)
        .filter(ticket_visible_q(actor, prefix="ticket__"))
        .select_related("ticket", "linked_by")
        .order_by("-linked_at", "-id")[:limit]
    )


def article_links_for_ticket(*, actor: Any, ticket: Ticket) -> list[TicketArticleLink]:
    """The articles used on ``ticket`` (which the caller checked ``actor`` may see) that ``actor``
    may read."""
    if not _active(actor):
        return []
    return list(
        TicketArticleLink.objects.filter(
            ticket=ticket, article__in=article_visible_queryset(actor=actor)
        )
        .select_related("article", "article__category", "linked_by")
        .order_by("-linked_at", "-id")
    )


def _key_has(term: str) -> GreaterThan:
    """Some token of the key begins with ``term`` (tokens are separated by single spaces): the
    indexes' matching rule, on the rows the index already found."""
    return GreaterThan(StrIndex(Concat(Value(" "), F("search_key")), Value(f" {term}")), Value(0))


def _any_term_match(terms: list[str]) -> Q:
    table = Article._meta.db_table
    if connection.vendor == "postgresql":
        vector = postgres_vector_sql(f'"{table}"."search_key"')
        return Q(
            RawSQL(
                f"{vector} @@ %s::tsquery", [tsquery_text_any([terms])], output_field=BooleanField()
            )
        )
    fts = f"{table}_fts"
    return Q(
        id__in=RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [fts5_match_any([terms])])
    )


def article_suggestions_for_ticket(*, actor: Any, ticket: Ticket, limit: int = 5) -> list[Article]:
    """Published articles ``actor`` may read that may help with ``ticket``, best first.

    Candidates come from indexes only: the articles meant for the ticket's category (the
    many-to-many table) and those whose search key holds any of the ticket's terms
    (:func:`suggestion_terms` of its subject and description; FTS5 or GIN). Only they are scored,
    in SQL: ``SUGGESTION_CATEGORY_WEIGHT`` for the category, one point per term found. An article
    of another category needs ``SUGGESTION_MIN_TERMS`` terms. Articles already linked to the
    ticket are left out. Ties go to the article used on more tickets, then the newer one.
    Each article carries ``suggestion_score``, ``category_match`` and ``terms_matched``."""
    if not _active(actor):
        return []
    limit = max(1, min(int(limit), SUGGESTION_MAX))
    terms = suggestion_terms([ticket.subject, ticket.description])
    in_category = Exists(
        Article.ticket_categories.through.objects.filter(
            article_id=OuterRef("pk"), ticketcategory_id=ticket.category_id
        )
    )
    candidates = Q(category_match=True)
    matched: Any = Value(0)
    if terms:
        candidates |= _any_term_match(terms)
        for term in terms:
            matched = matched + Case(
                When(_key_has(term), then=Value(1)), default=Value(0), output_field=IntegerField()
            )
    articles = (
        article_visible_queryset(actor=actor)
        .filter(status=ArticleStatus.PUBLISHED)
        .exclude(pk__in=TicketArticleLink.objects.filter(ticket=ticket).values("article_id"))
        .annotate(category_match=in_category)
        .filter(candidates)
        .annotate(terms_matched=matched)
        .annotate(
            suggestion_score=F("terms_matched")
            + Case(
                When(category_match=True, then=Value(SUGGESTION_CATEGORY_WEIGHT)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .filter(
            Q(category_match=True)
            | Q(terms_matched__gte=min(SUGGESTION_MIN_TERMS, max(len(terms), 1)))
        )
        .select_related("category")
        .order_by("-suggestion_score", "-link_count", "-updated_at", "-id")
    )
    return list(articles[:limit])


def knowledge_category_list(*, include_inactive: bool = False) -> QuerySet[KnowledgeCategory]:
    categories = KnowledgeCategory.objects.order_by("position", "id")
    return categories if include_inactive else categories.filter(active=True)


def knowledge_tag_list(*, actor: Any) -> QuerySet[KnowledgeTag]:
    """The tags of articles ``actor`` may read (a tag may name what a hidden note is about)."""
    return (
        KnowledgeTag.objects.filter(
            pk__in=Article.tags.through.objects.filter(
                article__in=article_visible_queryset(actor=actor)
            ).values("knowledgetag_id")
        )
        .order_by("name")
        .distinct()
    )
