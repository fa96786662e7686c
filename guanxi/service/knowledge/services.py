"""Writes of the knowledge base: articles (create, change, publish and archive, recycle bin), the
reader's view count, links between articles and the tickets they solved (and taking them
back), and the categories.

The caller fetched the article through ``permissions.article_get_for_user`` (it may see it, and
may write it when it writes); the services hold the rules: what a valid article is, that only
agents and administrators publish, that a customer note names customers the writer can see, that
only a published article is linked to a ticket. Every field error comes back at once and nothing
is written; a stale version is a 409 with both values (core.services.model_update).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.audit import audit_record, snapshot
from guanxi.core.exceptions import ApplicationError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_create, model_update, object_soft_delete
from guanxi.core.validation import errors_collect
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_visible_queryset
from guanxi.service.knowledge.models import (
    Article,
    ArticleKind,
    ArticleStatus,
    ArticleView,
    KnowledgeCategory,
    KnowledgeTag,
    TicketArticleLink,
)
from guanxi.service.knowledge.permissions import article_can_publish
from guanxi.service.knowledge.search import article_search_document
from guanxi.service.models import Ticket, TicketCategory
from guanxi.service.permissions import ticket_can_work

BODY_LIMIT = 20000
TAGS_MAX = 20
TAG_NAME_LIMIT = 40
CUSTOMERS_MAX = 20
TICKET_CATEGORIES_MAX = 50

ARTICLE_EDITABLE_FIELDS = frozenset(
    {"title", "body", "kind", "category", "tags", "ticket_categories", "customers", "status"}
)
KNOWLEDGE_CATEGORY_EDITABLE_FIELDS = frozenset({"name", "description", "active", "position"})

# Tags are typed in one box: commas (half or full width), the enumeration comma, semicolons and
# line breaks separate them; spaces inside a tag stay ("API 接口").
_TAG_SEPARATORS = re.compile(r"[,，、;；\r\n]+")
_SPACES = re.compile(r"\s+")


class ArticleNotPublishedError(ApplicationError):
    """Only a published article is offered as a solution: a draft may be wrong, an archived one
    out of date."""

    status_code = 409
    default_code = "article_not_published"
    default_message = _("Only a published article can be linked to a ticket.")


def _is_user(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def _ids(name: str, values: Any, *, limit: int) -> list[int]:
    """Row ids from ids or rows, in order, without repeats; anything else is a field error."""
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValidationError({name: [_("Give a list of ids.")]}, code="invalid")
    ids: list[int] = []
    for value in values:
        pk = getattr(value, "pk", value)
        if isinstance(pk, bool) or not isinstance(pk, int | str):
            raise ValidationError({name: [_("Give a list of ids.")]}, code="invalid")
        try:
            number = int(pk)
        except ValueError:
            raise ValidationError({name: [_("Give a list of ids.")]}, code="invalid") from None
        if not 0 < number < 2**63:
            raise ValidationError({name: [_("Give a list of ids.")]}, code="invalid")
        if number not in ids:
            ids.append(number)
    if len(ids) > limit:
        raise ValidationError(
            {name: [_("Choose at most %(limit)s.") % {"limit": limit}]}, code="too_many"
        )
    return ids


def _text(name: str, value: Any, *, limit: int) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    # Line breaks as typed in any browser or client, one kind kept.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit:
        raise ValidationError(
            {name: [_("Keep this under %(limit)s characters.") % {"limit": limit}]},
            code="too_long",
        )
    return text


def tag_names_clean(value: str | Iterable[str] | None) -> list[str]:
    """The tags typed in one box (or given as a list): trimmed, full-width letters made
    half-width, inner spaces collapsed, repeats dropped, order kept."""
    if value is None:
        return []
    if isinstance(value, str):
        parts: Iterable[Any] = _TAG_SEPARATORS.split(value)
    elif isinstance(value, Iterable):
        parts = value
    else:
        raise ValidationError({"tags": [_("Give the tags as text.")]}, code="invalid")
    names: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise ValidationError({"tags": [_("Give the tags as text.")]}, code="invalid")
        name = _SPACES.sub(" ", unicodedata.normalize("NFKC", part)).strip()
        if not name:
            continue
        if len(name) > TAG_NAME_LIMIT:
            raise ValidationError(
                {
                    "tags": [
                        _("Keep each tag under %(limit)s characters: %(tag)s")
                        % {"limit": TAG_NAME_LIMIT, "tag": name[:TAG_NAME_LIMIT] + "…"}
                    ]
                },
                code="too_long",
            )
        if name not in names:
            names.append(name)
    if len(names) > TAGS_MAX:
        raise ValidationError(
            {"tags": [_("At most %(limit)s tags.") % {"limit": TAGS_MAX}]}, code="too_many"
        )
    return names


def _tags_resolve(names: list[str]) -> list[KnowledgeTag]:
    """The tag rows for ``names``, made for the names typed for the first time."""
    existing = {tag.name: tag for tag in KnowledgeTag.objects.filter(name__in=names)}
    for name in names:
        if name in existing:
            continue
        try:
            with transaction.atomic():
                existing[name] = KnowledgeTag.objects.create(name=name)
        except IntegrityError:  # the same new tag typed at the same moment elsewhere
            existing[name] = KnowledgeTag.objects.get(name=name)
    return [existing[name] for name in names]


def _category_resolve(value: Any, *, current: KnowledgeCategory | None = None) -> KnowledgeCategory:
    """A category in use, as a row or its id; the one an article already has may be kept after
    it was switched off."""
    ids = _ids("category", [value] if value not in (None, "") else [], limit=1)
    if not ids:
        raise ValidationError({"category": [_("Choose a category.")]}, code="required")
    category = KnowledgeCategory.objects.filter(pk=ids[0]).first()
    if category is None or (not category.active and category != current):
        raise ValidationError(
            {"category": [_("Choose one of the categories in use.")]}, code="invalid_choice"
        )
    return category


def _ticket_categories_resolve(values: Any, *, current: set[int]) -> list[TicketCategory]:
    ids = _ids("ticket_categories", values, limit=TICKET_CATEGORIES_MAX)
    rows = {row.pk: row for row in TicketCategory.objects.filter(pk__in=ids)}
    if any(pk not in rows or (not rows[pk].active and pk not in current) for pk in ids):
        raise ValidationError(
            {"ticket_categories": [_("Choose ticket categories in use.")]}, code="invalid_choice"
        )
    return [rows[pk] for pk in ids]


def _customers_resolve(actor: Any, values: Any, *, current: set[int]) -> list[Customer]:
    """Customers ``actor`` can see; those the article names already stay (whoever reads the
    article can see them: selectors.article_visible_q), even when in the recycle bin."""
    ids = _ids("customers", values, limit=CUSTOMERS_MAX)
    new = [pk for pk in ids if pk not in current]
    visible = set(
        customer_visible_queryset(actor=actor).filter(pk__in=new).values_list("pk", flat=True)
    )
    if any(pk not in visible for pk in new):
        raise ValidationError(
            {"customers": [_("Choose customers you can see.")]}, code="invalid_choice"
        )
    rows = {row.pk: row for row in Customer.all_objects.filter(pk__in=ids)}
    return [rows[pk] for pk in ids if pk in rows]


def _rules_check(*, kind: str, customers: list[Customer], errors: dict[str, list[str]]) -> None:
    if kind == ArticleKind.CUSTOMER_NOTE and not customers and "customers" not in errors:
        errors.setdefault("customers", []).append(
            str(_("A customer note names the customer it is about."))
        )


def _fields_check(article: Article, *, names: Iterable[str], errors: dict[str, list[str]]) -> None:
    """The model's own field checks (blank title, lengths, choices) on ``names``, added to
    ``errors``; fields with an error already are left out."""
    checked = set(names) - set(errors)
    exclude = [field.name for field in Article._meta.fields if field.name not in checked]
    try:
        article.clean_fields(exclude=exclude)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)


def _relations_snapshot(
    tags: Iterable[KnowledgeTag],
    ticket_categories: Iterable[TicketCategory],
    customers: Iterable[Customer],
) -> dict[str, list[Any]]:
    return {
        "tags": [tag.name for tag in tags],
        "ticket_categories": [row.pk for row in ticket_categories],
        "customers": [row.pk for row in customers],
    }


def article_create(
    *,
    actor: Any,
    title: str,
    body: str,
    category: KnowledgeCategory | int | None,
    kind: str = ArticleKind.SOLUTION,
    tags: str | Iterable[str] | None = None,
    ticket_categories: Iterable[Any] | None = None,
    customers: Iterable[Any] | None = None,
    status: str = ArticleStatus.DRAFT,
) -> Article:
    """Write a new article, by ``actor`` (the caller checked they may write articles). Only
    agents and administrators publish: anyone else's article starts as a draft."""
    if status != ArticleStatus.DRAFT and not article_can_publish(actor):
        raise PermissionDeniedError(_("Only service agents and administrators publish articles."))
    errors: dict[str, list[str]] = {}
    title_text = errors_collect(errors, lambda: _text("title", title, limit=200)) or ""
    body_text = errors_collect(errors, lambda: _text("body", body, limit=BODY_LIMIT)) or ""
    category_row = errors_collect(errors, lambda: _category_resolve(category))
    tag_names = errors_collect(errors, lambda: tag_names_clean(tags)) or []
    ticket_category_rows = (
        errors_collect(errors, lambda: _ticket_categories_resolve(ticket_categories, current=set()))
        or []
    )
    customer_rows = errors_collect(
        errors, lambda: _customers_resolve(actor, customers, current=set())
    )
    _rules_check(kind=kind, customers=customer_rows or [], errors=errors)
    now = timezone.now()
    article = Article(
        title=title_text,
        body=body_text,
        kind=kind,
        category=category_row,
        status=status,
        author=actor if _is_user(actor) else None,
        published_at=now if status == ArticleStatus.PUBLISHED else None,
        search_key=article_search_document(title=title_text, tags=tag_names, body=body_text),
    )
    _fields_check(article, names=("title", "body", "kind", "status"), errors=errors)
    if errors:
        raise ValidationError(errors)
    if _is_user(actor):
        article.created_by = actor
        article.updated_by = actor
    with transaction.atomic():
        article.full_clean()
        article.save(force_insert=True)
        tag_rows = _tags_resolve(tag_names)
        article.tags.set(tag_rows)
        article.ticket_categories.set(ticket_category_rows)
        article.customers.set(customer_rows or [])
        after = {
            **snapshot(article),
            **_relations_snapshot(tag_rows, ticket_category_rows, customer_rows or []),
        }
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=article,
            changes={name: {"before": None, "after": value} for name, value in after.items()},
        )
    return article


def article_update(
    *,
    actor: Any,
    article: Article,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Article:
    """Change ``article`` (the caller checked that ``actor`` may write it). ``data`` holds only
    what changes, by ``ARTICLE_EDITABLE_FIELDS``; a change of ``status`` is for agents and
    administrators. The search key follows the title, tags and text."""
    unknown = set(data) - ARTICLE_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    status = data.get("status", article.status)
    if status != article.status and not article_can_publish(actor):
        raise PermissionDeniedError(
            _("Only service agents and administrators publish and archive articles.")
        )
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if "title" in data:
        changes["title"] = errors_collect(errors, lambda: _text("title", data["title"], limit=200))
    if "body" in data:
        changes["body"] = errors_collect(
            errors, lambda: _text("body", data["body"], limit=BODY_LIMIT)
        )
    if "kind" in data:
        changes["kind"] = data["kind"]
    if "category" in data:
        changes["category"] = errors_collect(
            errors, lambda: _category_resolve(data["category"], current=article.category)
        )
    if "status" in data:
        changes["status"] = status
        if status == ArticleStatus.PUBLISHED and article.published_at is None:
            changes["published_at"] = timezone.now()
    current_tags = list(article.tags.order_by("name"))
    current_ticket_categories = list(article.ticket_categories.order_by("pk"))
    current_customers = list(article.customers.order_by("pk"))
    tag_names = [tag.name for tag in current_tags]
    if "tags" in data:
        tag_names = errors_collect(errors, lambda: tag_names_clean(data["tags"])) or []
    ticket_category_rows = current_ticket_categories
    if "ticket_categories" in data:
        ticket_category_rows = (
            errors_collect(
                errors,
                lambda: _ticket_categories_resolve(
                    data["ticket_categories"], current={row.pk for row in current_ticket_categories}
                ),
            )
            or []
        )
    customer_rows = current_customers
    if "customers" in data:
        customer_rows = (
            errors_collect(
                errors,
                lambda: _customers_resolve(
                    actor, data["customers"], current={row.pk for row in current_customers}
                ),
            )
            or []
        )
    _rules_check(kind=changes.get("kind", article.kind), customers=customer_rows, errors=errors)
    probe = copy.copy(article)
    for name, value in changes.items():
        if name not in errors:
            setattr(probe, name, value)
    _fields_check(probe, names=[name for name in changes if name != "category"], errors=errors)
    if errors:
        raise ValidationError(errors)
    if {"title", "body", "tags"} & set(data):
        changes["search_key"] = article_search_document(
            title=probe.title, tags=tag_names, body=probe.body
        )
    with transaction.atomic():
        updated = model_update(
            instance=article, data=changes, actor=actor, expected_version=expected_version
        )
        before = _relations_snapshot(current_tags, current_ticket_categories, current_customers)
        tag_rows = _tags_resolve(tag_names) if "tags" in data else current_tags
        after = _relations_snapshot(tag_rows, ticket_category_rows, customer_rows)
        if "tags" in data:
            updated.tags.set(tag_rows)
        if "ticket_categories" in data:
            updated.ticket_categories.set(ticket_category_rows)
        if "customers" in data:
            updated.customers.set(customer_rows)
        relations = {
            name: {"before": before[name], "after": after[name]}
            for name in after
            if sorted(map(str, before[name])) != sorted(map(str, after[name]))
        }
        if relations:
            audit_record(
                actor=actor, action=AuditEntry.Action.UPDATE, obj=updated, changes=relations
            )
    return updated


def article_status_set(
    *, actor: Any, article: Article, status: str, expected_version: int | None = None
) -> Article:
    """Publish, archive or take back to draft (agents and administrators)."""
    if status not in ArticleStatus.values:
        raise ValidationError({"status": [_("Select a valid choice.")]}, code="invalid_choice")
    return article_update(
        actor=actor, article=article, data={"status": status}, expected_version=expected_version
    )


def article_delete(*, actor: Any, article: Article) -> Article:
    """Move ``article`` to the recycle bin; its links to tickets come back with it."""
    return object_soft_delete(instance=article, actor=actor)


def article_view_record(*, actor: Any, article: Article, today: dt.date | None = None) -> bool:
    """Count ``actor`` reading ``article``, once a day (in the deployment's time zone). Returns
    whether this read counted. A counter, not an edit: no version, no audit entry."""
    if not _is_user(actor) or not actor.is_active:
        return False
    today = today or timezone.localdate()
    with transaction.atomic():
        # A reader's row moves to today at most once a day; the row count says whether it did.
        moved = ArticleView.objects.filter(article=article, user=actor, day__lt=today).update(
            day=today
        )
        if not moved:
            if ArticleView.objects.filter(article=article, user=actor).exists():
                return False
            try:
                with transaction.atomic():
                    ArticleView.objects.create(article=article, user=actor, day=today)
            except IntegrityError:  # the same reader's other tab came first
                return False
        Article.all_objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
    return True


def article_ticket_link(
    *, actor: Any, article: Article, ticket: Ticket
) -> tuple[TicketArticleLink, bool]:
    """Record that ``article`` was used to solve ``ticket`` (by those who may work the ticket;
    the caller fetched the ticket and the article as ``actor`` sees them). Linking twice changes
    nothing; returns the link and whether it is new. Audited on the ticket, naming the article by
    id only (a ticket's readers may not all read the article)."""
    if not ticket_can_work(actor, ticket):
        raise PermissionDeniedError()
    if article.status != ArticleStatus.PUBLISHED:
        raise ArticleNotPublishedError()
    with transaction.atomic():
        existing = TicketArticleLink.objects.filter(ticket=ticket, article=article).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                link = TicketArticleLink.objects.create(
                    ticket=ticket, article=article, linked_by=actor if _is_user(actor) else None
                )
        except IntegrityError:  # a colleague linked it at the same moment
            return TicketArticleLink.objects.get(ticket=ticket, article=article), False
        Article.all_objects.filter(pk=article.pk).update(link_count=F("link_count") + 1)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=ticket,
            changes={"knowledge_article": {"before": None, "after": article.pk}},
            note=f"knowledge_article_linked?article={article.pk}",
        )
    return link, True


def article_ticket_unlink(*, actor: Any, article: Article, ticket: Ticket) -> bool:
    """Take back "used to solve this" (a wrong click, or the article did not help after all), by
    those who may link it, whatever the article's status now. The article counts one use less,
    never below zero. Unlinking what is not linked changes nothing; returns whether a link went.
    Audited on the ticket like the link, by the article's id only."""
    if not ticket_can_work(actor, ticket):
        raise PermissionDeniedError()
    with transaction.atomic():
        # The delete's row count names the one request that removed the link: a second click or
        # a colleague's at the same moment finds nothing and leaves the counter alone.
        removed, _per_model = TicketArticleLink.objects.filter(
            ticket=ticket, article=article
        ).delete()
        if not removed:
            return False
        Article.all_objects.filter(pk=article.pk, link_count__gt=0).update(
            link_count=F("link_count") - 1
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=ticket,
            changes={"knowledge_article": {"before": article.pk, "after": None}},
            note=f"knowledge_article_unlinked?article={article.pk}",
        )
    return True


# --- categories ---------------------------------------------------------------------------------


def knowledge_category_create(
    *,
    actor: Any,
    code: str,
    name: str,
    description: str = "",
    position: int = 0,
    active: bool = True,
) -> KnowledgeCategory:
    category = KnowledgeCategory(
        code=(code or "").strip().lower(),
        name=(name or "").strip(),
        description=(description or "").strip(),
        position=position,
        active=active,
    )
    return model_create(instance=category, actor=actor)


def knowledge_category_update(
    *,
    actor: Any,
    category: KnowledgeCategory,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> KnowledgeCategory:
    """Rename, describe, reorder or switch a category on or off. Its code stays: integrations
    filter by it."""
    unknown = set(data) - KNOWLEDGE_CATEGORY_EDITABLE_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )
    changes = dict(data)
    for name in ("name", "description"):
        if name in changes:
            changes[name] = (changes[name] or "").strip()
    return model_update(
        instance=category, data=changes, actor=actor, expected_version=expected_version
    )
