"""Service desk (C5): tickets, their categories, the service teams that handle them, routing
rules, SLA policies, and what happens to a ticket over its life (transitions, comments, pauses of
the SLA clock, attachments and the customer's confirmation).

Rules live in services (guanxi.service.services) and reads in selectors; the clock arithmetic is
the pure module guanxi.service.sla. Here are fields, choices, the constraints that keep ticket
numbers unique and one pause open at a time, and the indexes the scheduler's checks use.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import BaseModel
from guanxi.customers.models import Contact, Customer


class TicketCategory(BaseModel):
    """What a ticket is about (产品质量, 物流延迟, …): decides routing and the SLA policy."""

    name = models.CharField(_("name"), max_length=60)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    audit_fields = ("name", "code", "description", "active", "position")

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name


class AssignmentMode(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOADED = "least_loaded", _("Least loaded")


class ClockMode(models.TextChoices):
    ALWAYS = "24x7", _("24 × 7")
    WORKING_HOURS = "working_hours", _("Working hours")


def _default_start() -> dt.time:
    return dt.time(9, 0)


def _default_end() -> dt.time:
    return dt.time(18, 0)


class ServiceTeam(BaseModel):
    """A department that handles tickets (技术部, 供应链部, …): who is in it, how tickets are
    shared among them, its lead (warned when a deadline is breached) and its working hours, which
    apply on the working days of the holiday table."""

    department = models.OneToOneField(
        "accounts.Department",
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="service_team",
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_service_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("members"),
        blank=True,
        related_name="service_teams",
    )
    assignment_mode = models.CharField(
        _("assignment"),
        max_length=20,
        choices=AssignmentMode.choices,
        default=AssignmentMode.LEAST_LOADED,
    )
    # Round robin remembers whom it gave the last ticket to.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    work_start = models.TimeField(_("working hours from"), default=_default_start)
    work_end = models.TimeField(_("working hours to"), default=_default_end)
    # An optional midday break, outside the SLA clock.
    break_start = models.TimeField(_("break from"), null=True, blank=True)
    break_end = models.TimeField(_("break to"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=50, default="Asia/Shanghai")

    audit_fields = (
        "lead",
        "assignment_mode",
        "work_start",
        "work_end",
        "break_start",
        "break_end",
        "time_zone",
    )

    class Meta:
        verbose_name = _("service team")
        verbose_name_plural = _("service teams")
        ordering = ("id",)

    def __str__(self) -> str:
        return str(self.department)


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class RoutingRule(BaseModel):
    """Category (and optionally priority, region, key-account class) → team (→ person). The first
    active rule in position order that matches a ticket routes it; a rule without an assignee
    leaves the choice to the team's assignment mode."""

    position = models.PositiveSmallIntegerField(_("position"), default=100)
    category = models.ForeignKey(
        TicketCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="routing_rules",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, blank=True, default=""
    )
    # A province or a city: the rule matches customers in it (any level below included).
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    account_class = models.CharField(
        _("key-account class"),
        max_length=20,
        choices=Customer.AccountClass.choices,
        blank=True,
        default="",
    )
    team = models.ForeignKey(
        ServiceTeam, verbose_name=_("team"), on_delete=models.PROTECT, related_name="rules"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)

    audit_fields = (
        "position",
        "category",
        "priority",
        "region",
        "account_class",
        "team",
        "assignee",
        "active",
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ("position", "id")

    def __str__(self) -> str:
        return f"{self.category} → {self.team}"


class SlaPolicy(BaseModel):
    """Response and resolution targets for the tickets it matches: a category and/or priority
    and/or key-account class (blank = any). The most specific active policy applies; the targets
    run on a 24 × 7 clock or on the handling team's working hours."""

    name = models.CharField(_("name"), max_length=100)
    category = models.ForeignKey(
        TicketCategory,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sla_policies",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, blank=True, default=""
    )
    account_class = models.CharField(
        _("key-account class"),
        max_length=20,
        choices=Customer.AccountClass.choices,
        blank=True,
        default="",
    )
    response_minutes = models.PositiveIntegerField(
        _("respond within (minutes)"), validators=[MinValueValidator(1)]
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolve within (minutes)"), validators=[MinValueValidator(1)]
    )
    clock = models.CharField(
        _("clock"), max_length=20, choices=ClockMode.choices, default=ClockMode.WORKING_HOURS
    )
    # The share of a target at which the assignee is warned.
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (percentage of the target)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    active = models.BooleanField(_("active"), default=True)

    audit_fields = (
        "name",
        "category",
        "priority",
        "account_class",
        "response_minutes",
        "resolution_minutes",
        "clock",
        "warn_percent",
        "active",
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ("id",)

    def __str__(self) -> str:
        return self.name


class TicketChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    WEB = "web", _("Web form")
    VISIT = "visit", _("On site")
    OTHER = "other", _("Other")


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CONFIRMED = "confirmed", _("Confirmed")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = frozenset(
    {
        TicketStatus.NEW,
        TicketStatus.ASSIGNED,
        TicketStatus.IN_PROGRESS,
        TicketStatus.WAITING,
    }
)
"""Statuses in which the resolution clock runs (or is paused, while waiting)."""


class TicketNumberCounter(models.Model):
    """The last sequence number given out on a day (``T202611220001`` is the day's first).
    Incremented by a single upsert statement, so concurrent creations each get their own
    number on SQLite and PostgreSQL."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket number counter")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Ticket(BaseModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    channel = models.CharField(
        _("channel"), max_length=20, choices=TicketChannel.choices, default=TicketChannel.PHONE
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="tickets"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    category = models.ForeignKey(
        TicketCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="tickets"
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=10000)
    status = models.CharField(
        _("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    team = models.ForeignKey(
        ServiceTeam,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    # The team's department, kept on the ticket so that data scope is one column (scope_q).
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    routing_rule = models.ForeignKey(
        RoutingRule,
        verbose_name=_("routing rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # --- SLA: the policy, and the deadlines computed from it (null while the clock is paused or
    # when the calendar misses a year: calendar_missing says which).
    sla_policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    response_due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True)
    calendar_missing = models.PositiveSmallIntegerField(
        _("calendar missing for year"), null=True, blank=True
    )
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    paused_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    # When the assignee is warned: the moment the policy's share of each target is used up,
    # computed with the deadlines, so the scheduler's check is an indexed comparison.
    response_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    response_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    response_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    # --- resolution and the customer's word on it
    resolution = models.TextField(_("resolution"), max_length=10000, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    satisfaction_comment = models.TextField(_("customer's comment"), max_length=2000, blank=True)

    audit_fields = (
        "channel",
        "customer",
        "contact",
        "category",
        "priority",
        "subject",
        "description",
        "status",
        "team",
        "assignee",
        "sla_policy",
        "response_due_at",
        "resolution_due_at",
        "resolution",
        "satisfaction",
    )

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["department", "status"], name="ticket_department_status"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer"),
            models.Index(
                fields=["resolution_due_at"],
                name="ticket_open_resolution_due",
                condition=Q(status__in=["new", "assigned", "in_progress"]),
            ),
            models.Index(
                fields=["response_due_at"],
                name="ticket_open_response_due",
                condition=Q(first_response_at__isnull=True, status__in=["new", "assigned"]),
            ),
            models.Index(
                fields=["resolution_warn_at"],
                name="ticket_open_resolution_warn",
                condition=Q(status__in=["new", "assigned", "in_progress"]),
            ),
            models.Index(
                fields=["response_warn_at"],
                name="ticket_open_response_warn",
                condition=Q(first_response_at__isnull=True, status__in=["new", "assigned"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def breached(self) -> bool:
        return self.response_breached_at is not None or self.resolution_breached_at is not None


class TicketTransition(models.Model):
    """One status change, append-only: who, when, from what to what, and why (a reopen or a
    reassignment needs a reason)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=TicketStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=TicketStatus.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket transition")
        verbose_name_plural = _("ticket transitions")
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class TicketPause(models.Model):
    """A span during which the SLA clock stood still (waiting on the customer)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="pauses")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("started_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(ended_at__isnull=True),
                name="ticket_one_open_pause",
            )
        ]

    def __str__(self) -> str:
        return f"{self.started_at} – {self.ended_at}"


class TicketComment(BaseModel):
    """A note on a ticket: a reply to the customer, or internal (never shown on public pages)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField(_("comment"), max_length=10000)
    internal = models.BooleanField(_("internal note"), default=True)

    audit_fields = ("body", "internal")

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ("created_at", "id")


def _attachment_path(instance: TicketAttachment, filename: str) -> str:
    # A random name: names from users never collide or guess each other, and a long Chinese name
    # (three bytes a character) never passes the file system's 255 bytes. The name people gave
    # the file is kept in ``name`` and only sent back in a Content-Disposition header.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    suffix = f".{extension}" if extension.isascii() and extension.isalnum() else ""
    return f"tickets/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{suffix[:11]}"


class TicketAttachment(models.Model):
    """A file kept with a ticket (a photo of the damaged goods, an invoice). Checked like an
    interaction's attachments; downloaded only through the permission-checked view."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=255)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))
    content_type = models.CharField(_("type"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return self.name


class TicketConfirmation(models.Model):
    """The link sent to the customer's contact when a ticket is resolved: no login, one ticket.
    Only a hash of the token is kept; the link works until it is used, expires, or the ticket is
    resolved again (a new link replaces it)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="confirmations")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    confirmed = models.BooleanField(null=True)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.created_at}"
