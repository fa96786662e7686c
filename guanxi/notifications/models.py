"""Notifications, delivery preferences, robot endpoints and deliveries.

A Notification row is language-neutral: ``message`` is an English gettext msgid and ``params``
its values, rendered in the recipient's language whenever it is shown or sent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from guanxi.notifications.kinds import notification_kind_label


def user_language(user: Any) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In-app")
    EMAIL = "email", _("E-mail")
    ROBOT = "robot", _("Robot")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=64)
    message = models.TextField(_("message"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # False when the recipient turned the bell off for this kind: the row still exists for the
    # other channels' deliveries and for deduplication.
    in_app = models.BooleanField(_("shown in the app"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_dedupe_once",
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient_idx"),
            # The bell's count: the recipient's unread in-app rows.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True, in_app=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def text(self, language: str | None = None) -> str:
        """The message in ``language``; by default in the active language, which on a page or
        an API answer is the reader's (the recipient's own) request language. Deliveries pass
        the recipient's profile language (user_language)."""
        if language is None:
            return notification_message_render(self.message, self.params)
        with override(language):
            return notification_message_render(self.message, self.params)

    def kind_label(self, language: str | None = None) -> str:
        if language is None:
            return notification_kind_label(self.kind)
        with override(language):
            return notification_kind_label(self.kind)


def notification_message_render(message: str, params: dict[str, Any] | None) -> str:
    """Translate ``message`` in the active language and fill in ``params``. A catalogue entry
    with a broken placeholder falls back to the English msgid rather than failing a page."""
    translated = gettext(message)
    if not params:
        return translated
    try:
        return translated % params
    except (KeyError, ValueError, TypeError):
        try:
            return message % params
        except (KeyError, ValueError, TypeError):
            return message


class NotificationPreference(models.Model):
    """A user's channels for one kind. No row: the kind's registered defaults."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    kind = models.CharField(_("kind"), max_length=64)
    in_app = models.BooleanField(_("in-app"), default=True)
    email = models.BooleanField(_("e-mail"), default=False)
    robot = models.BooleanField(_("robot"), default=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ("user", "kind")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.kind}"


class RobotProvider(models.TextChoices):
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk custom robot")
    FEISHU = "feishu", _("Feishu / Lark custom bot")


class RobotEndpoint(models.Model):
    """A chat-group robot (webhook) owned by one user or by one department.

    The webhook URL and the signing secret are stored encrypted (notifications.crypto); only
    their masked forms are ever shown. A personal robot gets the kinds its owner routes to
    "robot" in their preferences; a department robot gets ``kinds`` (empty: every kind) for
    notifications to members of the department and the departments below it.
    """

    name = models.CharField(_("name"), max_length=100)
    provider = models.CharField(_("provider"), max_length=20, choices=RobotProvider.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="robot_endpoints",
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="robot_endpoints",
    )
    url_encrypted = models.TextField(_("webhook URL (encrypted)"))
    url_masked = models.CharField(_("webhook URL"), max_length=500)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"), blank=True)
    secret_masked = models.CharField(_("signing secret"), max_length=50, blank=True)
    kinds = models.JSONField(_("kinds"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1)

    audit_fields = ("name", "provider", "url_masked", "secret_masked", "kinds", "is_active")

    class Meta:
        verbose_name = _("robot")
        verbose_name_plural = _("robots")
        ordering = ("name", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, department__isnull=True)
                | Q(user__isnull=True, department__isnull=False),
                name="robot_endpoint_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One notification sent through one channel (e-mail, or one robot). Sent by a job, retried
    with backoff; ``next_attempt_at`` is when the next attempt may run (also the lease of an
    attempt in flight, so a crashed worker's delivery is picked up again)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    robot = models.ForeignKey(
        RobotEndpoint,
        verbose_name=_("robot"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ("-id",)
        constraints = [
            models.UniqueConstraint(
                fields=["notification"],
                condition=Q(channel="email"),
                name="delivery_email_once",
            ),
            models.UniqueConstraint(
                fields=["notification", "robot"],
                condition=Q(channel="robot"),
                name="delivery_robot_once",
            ),
            models.CheckConstraint(
                condition=Q(channel="robot", robot__isnull=False)
                | (~Q(channel="robot") & Q(robot__isnull=True)),
                name="delivery_robot_matches_channel",
            ),
        ]
        indexes = [
            # The retry job's pick-up: open deliveries by due time.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.notification_id} {self.status}"
