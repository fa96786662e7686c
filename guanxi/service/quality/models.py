"""Service quality review (C12): score sheets and their criteria, the sample of tickets and
interactions drawn for review, and the reviews themselves with their per-criterion scores.

A score sheet stays editable while it is in use. Each review keeps its own copy of what it was
scored on (every score row carries the criterion's name, maximum and critical flag as they were,
and the review its threshold and totals), so changing a sheet never changes a past review's
total, percentage or verdict. Rules live in services (guanxi.service.quality.services) and reads
in selectors; here are fields, choices and the constraints that make sampling idempotent and
allow one review per sheet and item.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import BaseModel


class ItemKind(models.TextChoices):
    """What a sheet scores."""

    TICKET = "ticket", _("Tickets")
    INTERACTION = "interaction", _("Interactions")


# Exactly one of the two item columns is set, and it is the one the kind names.
_ONE_ITEM = Q(kind=ItemKind.TICKET, ticket__isnull=False, interaction__isnull=True) | Q(
    kind=ItemKind.INTERACTION, ticket__isnull=True, interaction__isnull=False
)


class ScoreSheet(BaseModel):
    """A quality standard (质检评分表): the criteria a ticket or an interaction is scored on, and
    the percentage of the total it needs to pass."""

    name = models.CharField(_("name"), max_length=100)
    applies_to = models.CharField(_("applies to"), max_length=20, choices=ItemKind.choices)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    pass_percent = models.PositiveSmallIntegerField(
        _("pass mark (%)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    active = models.BooleanField(_("in use"), default=True)

    audit_fields = ("name", "applies_to", "description", "pass_percent", "active")

    class Meta:
        verbose_name = _("score sheet")
        verbose_name_plural = _("score sheets")
        ordering = ("applies_to", "name", "id")

    def __str__(self) -> str:
        return self.name


class ScoreCriterion(BaseModel):
    """One line of a sheet (响应及时, 问题理解, …): scored from 0 to ``max_points``. A critical
    criterion is a must: anything below its full points fails the review whatever the total."""

    sheet = models.ForeignKey(
        ScoreSheet, verbose_name=_("score sheet"), on_delete=models.CASCADE, related_name="criteria"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)
    max_points = models.PositiveSmallIntegerField(
        _("maximum points"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    critical = models.BooleanField(_("critical"), default=False)

    audit_fields = ("sheet", "position", "name", "description", "max_points", "critical")

    class Meta:
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        ordering = ("sheet", "position", "id")

    def __str__(self) -> str:
        return self.name

    def recycle_label(self) -> str:
        return f"{self.sheet} · {self.name}"


class ReviewAssignment(BaseModel):
    """A ticket or an interaction drawn for review (待质检), for one reviewer. One live
    assignment per sheet and item: drawing again finds it and makes nothing."""

    class Status(models.TextChoices):
        OPEN = "open", _("To review")
        DONE = "done", _("Reviewed")
        CANCELLED = "cancelled", _("Released")

    sheet = models.ForeignKey(
        ScoreSheet,
        verbose_name=_("score sheet"),
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    kind = models.CharField(_("item"), max_length=20, choices=ItemKind.choices)
    # The review belongs to its item: purging the item (a customer erased on request) takes it.
    ticket = models.ForeignKey(
        "service.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quality_assignments",
    )
    interaction = models.ForeignKey(
        "engagement.Interaction",
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quality_assignments",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="quality_assignments",
    )
    # When the work was finished (the ticket resolved or closed, the interaction held).
    item_at = models.DateTimeField(_("finished at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )

    audit_fields = ("sheet", "ticket", "interaction", "agent", "reviewer", "status")

    class Meta:
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        ordering = ("item_at", "id")
        constraints = [
            models.CheckConstraint(condition=_ONE_ITEM, name="quality_assignment_one_item"),
            models.UniqueConstraint(
                fields=["sheet", "ticket"],
                condition=Q(ticket__isnull=False) & ~Q(status="cancelled"),
                name="quality_assignment_ticket_once",
            ),
            models.UniqueConstraint(
                fields=["sheet", "interaction"],
                condition=Q(interaction__isnull=False) & ~Q(status="cancelled"),
                name="quality_assignment_interaction_once",
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer", "status", "item_at"], name="quality_assignment_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.sheet} · {self.ticket or self.interaction}"


class Review(BaseModel):
    """One reviewer's scoring of one item on one sheet (质检记录). Totals and the verdict are
    computed by the service and stored with the threshold they were judged by."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        DISPUTED = "disputed", _("Disputed")
        RESOLVED = "resolved", _("Dispute resolved")

    sheet = models.ForeignKey(
        ScoreSheet, verbose_name=_("score sheet"), on_delete=models.PROTECT, related_name="reviews"
    )
    kind = models.CharField(_("item"), max_length=20, choices=ItemKind.choices)
    ticket = models.ForeignKey(
        "service.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quality_reviews",
    )
    interaction = models.ForeignKey(
        "engagement.Interaction",
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quality_reviews",
    )
    assignment = models.OneToOneField(
        ReviewAssignment,
        verbose_name=_("assignment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review",
    )
    # Whose work it was, and where they and the item stood when it was reviewed: the figures and
    # the data scope read these, so a later transfer does not move past reviews.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="quality_reviews",
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    team = models.ForeignKey(
        "service.ServiceTeam",
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="quality_reviews_given",
    )
    item_at = models.DateTimeField(_("finished at"))
    total = models.PositiveIntegerField(_("score"))
    max_total = models.PositiveIntegerField(_("out of"))
    percent = models.DecimalField(_("percentage"), max_digits=5, decimal_places=2)
    pass_percent = models.PositiveSmallIntegerField(_("pass mark (%)"))
    critical_failed = models.BooleanField(_("critical criterion failed"), default=False)
    passed = models.BooleanField(_("passed"))
    comment = models.TextField(_("overall comment"), max_length=4000, blank=True)
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.SUBMITTED
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    dispute_reason = models.TextField(_("reason for the dispute"), max_length=2000, blank=True)
    disputed_at = models.DateTimeField(_("disputed at"), null=True, blank=True)
    resolution_note = models.TextField(_("resolution"), max_length=2000, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    audit_fields = (
        "sheet",
        "ticket",
        "interaction",
        "agent",
        "reviewer",
        "total",
        "max_total",
        "percent",
        "pass_percent",
        "critical_failed",
        "passed",
        "comment",
        "status",
        "dispute_reason",
        "resolution_note",
    )

    class Meta:
        verbose_name = _("quality review")
        verbose_name_plural = _("quality reviews")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=_ONE_ITEM, name="quality_review_one_item"),
            models.CheckConstraint(
                condition=Q(total__lte=models.F("max_total")), name="quality_review_total_in_range"
            ),
            # One review per sheet and item, whoever reviews and however fast they click.
            models.UniqueConstraint(
                fields=["sheet", "ticket"],
                condition=Q(ticket__isnull=False),
                name="quality_review_ticket_once",
            ),
            models.UniqueConstraint(
                fields=["sheet", "interaction"],
                condition=Q(interaction__isnull=False),
                name="quality_review_interaction_once",
            ),
        ]
        indexes = [
            models.Index(fields=["item_at", "agent"], name="quality_review_period"),
            models.Index(fields=["agent", "-created_at", "-id"], name="quality_review_agent"),
            models.Index(fields=["reviewer", "-created_at", "-id"], name="quality_review_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.sheet} · {self.ticket or self.interaction}"

    @property
    def item(self) -> models.Model | None:
        return self.ticket if self.kind == ItemKind.TICKET else self.interaction


class ReviewScore(models.Model):
    """The points one criterion got in one review, with the criterion as it was then (name,
    maximum, critical flag), so the review reads the same after the sheet changes."""

    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="scores"
    )
    criterion = models.ForeignKey(
        ScoreCriterion,
        verbose_name=_("criterion"),
        on_delete=models.PROTECT,
        related_name="scores",
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=60)
    max_points = models.PositiveSmallIntegerField(_("maximum points"))
    critical = models.BooleanField(_("critical"), default=False)
    points = models.PositiveSmallIntegerField(_("points"))
    comment = models.CharField(_("comment"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("criterion score")
        verbose_name_plural = _("criterion scores")
        ordering = ("review", "position", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["review", "criterion"], name="quality_score_once_per_criterion"
            ),
            models.CheckConstraint(
                condition=Q(points__lte=models.F("max_points")), name="quality_score_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.points}/{self.max_points}"

    @property
    def failed_critical(self) -> bool:
        return self.critical and self.points < self.max_points
