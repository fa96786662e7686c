"""Relationship maintenance (C3): the interaction log, maintenance policies and their rules, the
follow-up tasks the engine makes from them, the care calendar's settings, communication plans
and the calendar feed's tokens.

Rules live in services (guanxi.engagement.services) and reads in selectors; here are fields,
choices and the constraints that make the engine idempotent: one task per customer, rule and
period; one per care occasion; one per interaction's next action.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import BaseModel
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Customer
from guanxi.engagement import periods


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    VISIT = "visit", _("Visit")
    VIDEO = "video", _("Video call")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    EVENT = "event", _("Event")
    OTHER = "other", _("Other")


class ActivityKind(models.TextChoices):
    """What a contact was for. A deeper kind also counts as a lighter one (KIND_SATISFIES)."""

    CONVERSATION = "conversation", _("Deep conversation")
    REPORT = "report", _("Service or industry report")
    GREETING = "greeting", _("Call or greeting")
    TIP = "tip", _("Product tip or offer")
    TOUCH = "touch", _("Light touch")


# Which rule kinds an interaction of a kind fulfils: a meeting is also a greeting and a touch; a
# report, a tip or a greeting is also a touch. Every interaction is at least a light touch, which
# is what the "never more" of a potential customer's policy counts.
KIND_SATISFIES: dict[str, frozenset[str]] = {
    ActivityKind.CONVERSATION: frozenset(
        {ActivityKind.CONVERSATION, ActivityKind.GREETING, ActivityKind.TOUCH}
    ),
    ActivityKind.REPORT: frozenset({ActivityKind.REPORT, ActivityKind.TOUCH}),
    ActivityKind.GREETING: frozenset({ActivityKind.GREETING, ActivityKind.TOUCH}),
    ActivityKind.TIP: frozenset({ActivityKind.TIP, ActivityKind.TOUCH}),
    ActivityKind.TOUCH: frozenset({ActivityKind.TOUCH}),
}

# The kind an interaction gets when the person logging it does not say.
CHANNEL_DEFAULT_KIND: dict[str, str] = {
    Channel.VISIT: ActivityKind.CONVERSATION,
    Channel.VIDEO: ActivityKind.CONVERSATION,
    Channel.PHONE: ActivityKind.GREETING,
    Channel.WECHAT: ActivityKind.GREETING,
    Channel.EMAIL: ActivityKind.TOUCH,
    Channel.EVENT: ActivityKind.TOUCH,
    Channel.OTHER: ActivityKind.TOUCH,
}


def kinds_fulfilling(kind: str) -> list[str]:
    """The interaction kinds that fulfil a rule of ``kind``."""
    return [made for made, fulfils in KIND_SATISFIES.items() if kind in fulfils]


class PeriodUnit(models.TextChoices):
    DAY = periods.DAY, _("days")
    WEEK = periods.WEEK, _("weeks")
    MONTH = periods.MONTH, _("months")


# --- policies -----------------------------------------------------------------------------------


class MaintenancePolicy(BaseModel):
    """How often the customers of one class are to be contacted (客户维护策略): for a lifecycle, a
    key-account class, or both (blank matches any). A customer follows the most specific active
    policy that matches it; seeded by migration 0002 with the defaults of C3."""

    name = models.CharField(_("name"), max_length=100)
    # Blank matches any. Customers in the history library (churned, stopped) get no tasks.
    lifecycle = models.CharField(
        _("lifecycle"),
        max_length=20,
        blank=True,
        choices=[
            choice for choice in Customer.Lifecycle.choices if choice[0] not in ARCHIVED_LIFECYCLES
        ],
    )
    account_class = models.CharField(
        _("key-account class"), max_length=20, blank=True, choices=Customer.AccountClass.choices
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    # The care calendar: which occasions get a greeting task for this class of customer.
    care_birthdays = models.BooleanField(_("greet contacts on their birthdays"), default=False)
    care_anniversaries = models.BooleanField(
        _("greet on the anniversary of the first contact"), default=False
    )
    care_festivals = models.BooleanField(_("greet at Chinese festivals"), default=False)

    audit_fields = (
        "name",
        "lifecycle",
        "account_class",
        "description",
        "is_active",
        "care_birthdays",
        "care_anniversaries",
        "care_festivals",
    )

    class Meta:
        verbose_name = _("maintenance policy")
        verbose_name_plural = _("maintenance policies")
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["lifecycle", "account_class"],
                condition=Q(deleted_at__isnull=True),
                name="maintenance_policy_class_unique",
                violation_error_message=_(
                    "Another policy already covers this lifecycle and key-account class."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        """Both fields set beat one; a key-account class beats a lifecycle (an important key
        account gets the key-account treatment whatever its lifecycle); one beats none."""
        return 2 * bool(self.account_class) + bool(self.lifecycle)


class MaintenanceRule(BaseModel):
    """One requirement of a policy: at least one contact of ``kind`` through one of ``channels``
    (any channel when empty) in every period of ``interval`` ``unit``s, and at most
    ``max_count`` contacts counting toward it in a period (no limit when empty)."""

    policy = models.ForeignKey(
        MaintenancePolicy,
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="rules",
    )
    kind = models.CharField(_("activity"), max_length=20, choices=ActivityKind.choices)
    interval = models.PositiveSmallIntegerField(
        _("every"), default=1, validators=[MinValueValidator(1), MaxValueValidator(366)]
    )
    unit = models.CharField(
        _("period unit"), max_length=10, choices=PeriodUnit.choices, default=PeriodUnit.MONTH
    )
    channels = models.JSONField(_("allowed channels"), default=list, blank=True)
    max_count = models.PositiveSmallIntegerField(
        _("at most per period"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    audit_fields = ("policy", "kind", "interval", "unit", "channels", "max_count", "description")

    class Meta:
        verbose_name = _("maintenance rule")
        verbose_name_plural = _("maintenance rules")
        ordering = ("policy", "id")

    def __str__(self) -> str:
        return f"{self.policy} · {self.get_kind_display()}"

    def recycle_label(self) -> str:
        return str(self)

    @property
    def label(self) -> str:
        return str(self.get_kind_display())


class EngagementSettings(models.Model):
    """The engine's knobs, one row (pk 1) seeded by migration 0002 and edited by administrators:
    when an overdue task goes to the manager, and how far ahead greeting tasks are made."""

    SINGLETON_PK = 1

    escalate_after_days = models.PositiveSmallIntegerField(
        _("escalate to the manager after days overdue"),
        default=3,
        validators=[MaxValueValidator(365)],
    )
    care_lead_days = models.PositiveSmallIntegerField(
        _("make greeting tasks days ahead"),
        default=3,
        validators=[MaxValueValidator(60)],
    )
    # Keys of guanxi.core.china.calendar's festivals that get a greeting task.
    festivals = models.JSONField(_("festivals to greet at"), default=list, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    audit_fields = ("escalate_after_days", "care_lead_days", "festivals")

    class Meta:
        verbose_name = _("follow-up settings")
        verbose_name_plural = _("follow-up settings")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="engagement_settings_single_row")
        ]

    def __str__(self) -> str:
        return str(_("Follow-up settings"))


# --- the interaction log ------------------------------------------------------------------------


class Interaction(BaseModel):
    """One contact with a customer (跟进记录): a call, a visit, a message. Logging one that
    fulfils an open task completes it; its next action becomes a dated task."""

    class Reaction(models.TextChoices):
        POSITIVE = "positive", _("Positive")
        NEUTRAL = "neutral", _("Neutral")
        NEGATIVE = "negative", _("Negative")
        UNKNOWN = "", _("Not recorded")

    # Purging a customer from the recycle bin takes its log with it.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("purpose"), max_length=20, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    contacts = models.ManyToManyField(
        "customers.Contact",
        verbose_name=_("contacts present"),
        blank=True,
        related_name="interactions",
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("our participants"),
        blank=True,
        related_name="interactions",
    )
    content = models.TextField(_("content"))
    reaction = models.CharField(
        _("customer's reaction"),
        max_length=10,
        choices=Reaction.choices,
        blank=True,
        default="",
    )
    reaction_note = models.TextField(_("reaction in their words"), blank=True)
    next_action = models.CharField(_("next action"), max_length=500, blank=True)
    next_action_date = models.DateField(_("next action date"), null=True, blank=True)
    # Logged although it exceeded a policy's or plan's maximum: the user confirmed the warning.
    over_contact_confirmed = models.BooleanField(
        _("over-contact confirmed"), default=False, editable=False
    )

    audit_fields = (
        "customer",
        "channel",
        "kind",
        "occurred_at",
        "content",
        "reaction",
        "reaction_note",
        "next_action",
        "next_action_date",
        "over_contact_confirmed",
    )

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ("-occurred_at", "-id")
        indexes = [
            # The customer's timeline and the over-contact count of a period.
            models.Index(fields=["customer", "-occurred_at", "-id"], name="interaction_customer"),
            # The interaction list, newest first.
            models.Index(fields=["-occurred_at", "-id"], name="interaction_occurred"),
            models.Index(fields=["created_by", "-occurred_at"], name="interaction_author"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} · {self.occurred_at:%Y-%m-%d}"

    def recycle_label(self) -> str:
        return f"{self} · {self.customer}"


def _attachment_path(instance: InteractionAttachment, filename: str) -> str:
    # The stored name is random: the name people gave the file is kept in ``name`` and only ever
    # sent back in a Content-Disposition header, never used as a path.
    return f"engagement/attachments/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"


class InteractionAttachment(models.Model):
    """A file kept with an interaction (minutes, a quotation, a photo of the whiteboard). Checked
    for size and type by services.interaction_attachment_add; downloaded only through the view
    that checks the reader may see the customer, never served as media."""

    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        on_delete=models.CASCADE,
        related_name="attachments",
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


# --- follow-up tasks ----------------------------------------------------------------------------


class FollowUpTask(BaseModel):
    """One dated thing to do for a customer (跟进任务), for its assignee.

    ``due_date`` is when it shows as due (a snooze moves it); ``deadline`` is fixed when the task
    is made and is what compliance measures: a policy task is on time when done by the end of its
    period, any other task when done by its first due date.
    """

    class Source(models.TextChoices):
        POLICY = "policy", _("Maintenance policy")
        PLAN = "plan", _("Communication plan")
        NEXT_ACTION = "next_action", _("Next action")
        CARE = "care", _("Care calendar")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="followup_tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followup_tasks",
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    kind = models.CharField(_("activity"), max_length=20, choices=ActivityKind.choices)
    # A next action's words; a birthday task's contact name. The engine's other tasks are named
    # when shown (display_title).
    title = models.CharField(_("title"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    # --- policy and plan tasks: the rule (none for a plan) and the period it asks a contact in.
    rule = models.ForeignKey(
        MaintenanceRule,
        verbose_name=_("rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    # Channels that fulfil it (empty: any), copied from the rule and the plan when made.
    channels = models.JSONField(_("channels"), default=list, blank=True)
    # --- care tasks: the occasion ("birthday:contact-12:2026-05-04") and the contact it is for.
    occasion_key = models.CharField(_("occasion"), max_length=100, blank=True)
    occasion_date = models.DateField(_("occasion date"), null=True, blank=True)
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # --- next-action tasks: the interaction whose next action it is.
    origin = models.ForeignKey(
        Interaction,
        verbose_name=_("from the interaction"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="next_tasks",
    )
    due_date = models.DateField(_("due date"))
    deadline = models.DateField(_("deadline"), editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    completed_at = models.DateTimeField(_("done at"), null=True, blank=True)
    completed_on = models.DateField(_("done on"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("done with the interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="completed_tasks",
    )
    # Set when someone hands the task to another person: the engine then leaves its assignee
    # alone (it otherwise follows the customer's owner).
    reassigned_at = models.DateTimeField(_("reassigned at"), null=True, blank=True)
    resolution_note = models.CharField(_("note on completion"), max_length=500, blank=True)
    snooze_reason = models.CharField(_("reason for the snooze"), max_length=500, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    audit_fields = (
        "assignee",
        "title",
        "due_date",
        "status",
        "completed_at",
        "completed_by",
        "completed_interaction",
        "resolution_note",
        "snooze_reason",
        "escalated_at",
        "escalated_to",
    )

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ("due_date", "id")
        constraints = [
            # The engine may run any number of times, in several processes: each of these is made
            # once, whoever gets there first.
            models.UniqueConstraint(
                fields=["customer", "rule", "period_start"],
                condition=Q(source="policy"),
                name="followup_policy_once_per_period",
            ),
            models.UniqueConstraint(
                fields=["customer", "period_start"],
                condition=Q(source="plan"),
                name="followup_plan_once_per_period",
            ),
            models.UniqueConstraint(
                fields=["customer", "occasion_key"],
                condition=Q(source="care"),
                name="followup_care_once_per_occasion",
            ),
            models.UniqueConstraint(
                fields=["origin"],
                condition=Q(source="next_action"),
                name="followup_next_action_once",
            ),
            models.CheckConstraint(
                condition=Q(status="done", completed_at__isnull=False, completed_on__isnull=False)
                | (~Q(status="done") & Q(completed_at__isnull=True)),
                name="followup_done_has_time",
            ),
        ]
        indexes = [
            # 今日待办: a user's open tasks by due date.
            models.Index(fields=["assignee", "status", "due_date", "id"], name="followup_mine"),
            # The customer page and the engine's look-ups per customer.
            models.Index(fields=["customer", "status", "due_date"], name="followup_customer"),
            # Escalation: open tasks by due date; compliance: tasks by deadline.
            models.Index(fields=["status", "due_date", "id"], name="followup_due"),
            models.Index(fields=["deadline", "assignee"], name="followup_deadline"),
        ]

    def __str__(self) -> str:
        return self.display_title

    def recycle_label(self) -> str:
        return f"{self.display_title} · {self.customer}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def display_title(self) -> str:
        """The title in the active language: a next action's own words; the engine's tasks are
        named from their kind and occasion when shown, so each reader gets their language."""
        if self.source == self.Source.NEXT_ACTION:
            return self.title
        if self.source == self.Source.CARE:
            what, _sep, rest = self.occasion_key.partition(":")
            if what == "birthday":
                return str(_("Birthday greeting: %(name)s")) % {"name": self.title}
            if what == "anniversary":
                years = rest.partition(":")[0]
                return str(_("Anniversary greeting: %(years)s years since the first contact")) % {
                    "years": years
                }
            if what == "festival":
                from guanxi.core.china.calendar import FestivalKey

                key = rest.partition(":")[0]
                label = FestivalKey(key).label if key in FestivalKey.values else key
                return str(_("Festival greeting: %(festival)s")) % {"festival": label}
        return str(self.get_kind_display())


# --- communication plans ------------------------------------------------------------------------


class CommunicationPlan(BaseModel):
    """How one customer wants to be contacted (沟通计划): by which channels, how often at least
    and at most, about what. The engine applies it where it is stricter than the policy: the
    channels narrow a rule's (unless none would remain), the maximum per month caps contacts,
    and a frequency more often than every rule of the policy adds tasks of its own."""

    class Frequency(models.TextChoices):
        NONE = "", _("As the policy says")
        WEEK = "week", _("Every week")
        FORTNIGHT = "fortnight", _("Every two weeks")
        MONTH = "month", _("Every month")
        QUARTER = "quarter", _("Every quarter")

    # (unit, interval) of each frequency, in periods.py terms.
    FREQUENCY_PERIODS = {
        "week": (periods.WEEK, 1),
        "fortnight": (periods.WEEK, 2),
        "month": (periods.MONTH, 1),
        "quarter": (periods.MONTH, 3),
    }

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="communication_plan",
    )
    channels = models.JSONField(_("preferred channels"), default=list, blank=True)
    frequency = models.CharField(
        _("contact at least"), max_length=10, choices=Frequency.choices, blank=True, default=""
    )
    max_per_month = models.PositiveSmallIntegerField(
        _("contacts per month at most"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    themes = models.TextField(_("themes"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    audit_fields = ("channels", "frequency", "max_per_month", "themes", "notes")

    class Meta:
        verbose_name = _("communication plan")
        verbose_name_plural = _("communication plans")

    def __str__(self) -> str:
        return str(self.customer)


# --- calendar feed ------------------------------------------------------------------------------


class CalendarFeedToken(models.Model):
    """The secret of a user's iCalendar feed. Only its SHA-256 is stored (the URL is shown once,
    like an API token); rotating replaces the row, so the old URL stops working at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="calendar_feed_token",
    )
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("prefix"), max_length=12)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed token")
        verbose_name_plural = _("calendar feed tokens")

    def __str__(self) -> str:
        return f"{self.user} ({self.prefix}…)"
