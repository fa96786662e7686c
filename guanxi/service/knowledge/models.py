"""The knowledge base (客户知识管理, DESIGN.md C11): articles — solutions, product know-how, notes
on a customer, FAQ — filed under an administrator-kept category, tagged freely, tied to the
ticket categories they help with (the suggestions on a ticket start there) and to the tickets
they solved.

Rules live in guanxi.service.knowledge.services and reads in its selectors; here are fields,
choices, counters and the constraints that keep one view a day per reader and one link per
ticket and article.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import BaseModel


class KnowledgeCategory(BaseModel):
    """Where an article is filed (售后政策, 产品使用, …): a list administrators keep. A category
    no longer in use stays on its articles; new articles cannot choose it."""

    name = models.CharField(_("name"), max_length=60)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    active = models.BooleanField(_("in use"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    audit_fields = ("name", "code", "description", "active", "position")

    class Meta:
        verbose_name = _("knowledge category")
        verbose_name_plural = _("knowledge categories")
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name


class KnowledgeTag(models.Model):
    """A free tag, made the first time someone types it. Reference data: no version, no
    recycle bin (a tag nobody uses any more simply lists no articles)."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("knowledge tag")
        verbose_name_plural = _("knowledge tags")
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class ArticleKind(models.TextChoices):
    SOLUTION = "solution", _("Solution")
    PRODUCT = "product", _("Product know-how")
    CUSTOMER_NOTE = "customer_note", _("Customer note")
    FAQ = "faq", _("FAQ")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Article(BaseModel):
    """One knowledge article (知识条目). The body is plain text: paragraphs and line breaks are
    kept when shown, markup is shown as typed, never interpreted."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), max_length=20000)
    kind = models.CharField(
        _("kind"), max_length=20, choices=ArticleKind.choices, default=ArticleKind.SOLUTION
    )
    category = models.ForeignKey(
        KnowledgeCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="articles",
    )
    tags = models.ManyToManyField(
        KnowledgeTag, verbose_name=_("tags"), blank=True, related_name="articles"
    )
    ticket_categories = models.ManyToManyField(
        "service.TicketCategory",
        verbose_name=_("ticket categories"),
        blank=True,
        related_name="knowledge_articles",
    )
    # An article that names customers is readable only by those who can see every one of them.
    customers = models.ManyToManyField(
        "customers.Customer",
        verbose_name=_("customers"),
        blank=True,
        related_name="knowledge_articles",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="knowledge_articles",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    # Tokens of the title, tags and the start of the text (core.china.search), computed by the
    # services; indexed by FTS5 on SQLite (migration 0003) and GIN on PostgreSQL (0004).
    search_key = models.TextField(default="", blank=True, editable=False)
    # Counters, not edits: changed with F() and without a new version.
    view_count = models.PositiveIntegerField(_("views"), default=0, editable=False)
    link_count = models.PositiveIntegerField(_("used on tickets"), default=0, editable=False)

    audit_fields = ("title", "body", "kind", "category", "status", "author")

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        ordering = ("-updated_at", "-id")
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="article_updated"),
            models.Index(fields=["-view_count", "-id"], name="article_views"),
            models.Index(fields=["-link_count", "-id"], name="article_links"),
            models.Index(fields=["title", "id"], name="article_title"),
            models.Index(fields=["status", "-updated_at"], name="article_status"),
        ]

    def __str__(self) -> str:
        return self.title


class ArticleView(models.Model):
    """The last day a reader opened an article: the view counter counts a reader once a day.
    One row per reader and article, moved forward each new day, so the table stays as small as
    the readership."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="article_view_once")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.user_id} {self.day}"


class TicketArticleLink(models.Model):
    """An article that was used to solve a ticket ("used to solve this"). The ticket page lists
    it; the article counts it."""

    ticket = models.ForeignKey(
        "service.Ticket",
        verbose_name=_("ticket"),
        on_delete=models.CASCADE,
        related_name="knowledge_links",
    )
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="ticket_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket article link")
        verbose_name_plural = _("ticket article links")
        ordering = ("-linked_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "article"], name="ticket_article_link_once")
        ]
        indexes = [models.Index(fields=["article", "-linked_at"], name="ticket_link_article")]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.article_id}"
