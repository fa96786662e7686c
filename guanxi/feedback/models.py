"""Feedback and satisfaction (C4): surveys (CSAT, NPS or a questionnaire) sent to customers'
contacts as links answered without a login, the answers, and feedback items — negative feedback
from any channel that must be answered within 24 hours and closed with an improvement action.

Rules live in guanxi.feedback.services and reads in guanxi.feedback.selectors. Here are fields,
choices and the constraints that make an invitation unique per survey and contact, a survey
answered once per invitation, and a feedback item opened once per low score.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import BaseModel

# --- surveys ------------------------------------------------------------------------------------


class SurveyKind(models.TextChoices):
    CSAT = "csat", _("Customer satisfaction (CSAT, 1–5)")
    NPS = "nps", _("Net promoter score (NPS, 0–10)")
    CUSTOM = "custom", _("Questionnaire")


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENDING = "sending", _("Sending")
    CLOSED = "closed", _("Closed")


class QuestionType(models.TextChoices):
    SCORE = "score", _("Score 1–5")
    NPS = "nps", _("Likelihood to recommend 0–10")
    CHOICE = "choice", _("Single choice")
    TEXT = "text", _("Text")


class Dimension(models.TextChoices):
    OVERALL = "overall", _("Overall")
    QUALITY = "quality", _("Product quality")
    PRICE = "price", _("Price")
    ATTITUDE = "attitude", _("Service attitude")
    SPEED = "speed", _("Response speed")
    OTHER = "other", _("Other")


# The scale of each scored question type: (lowest, highest).
SCALES: dict[str, tuple[int, int]] = {
    QuestionType.SCORE.value: (1, 5),
    QuestionType.NPS.value: (0, 10),
}


class Survey(BaseModel):
    """A questionnaire sent to a segment of customers' contacts. Edited while a draft; sending
    freezes its questions (answers must keep meaning what was asked); closing ends its links."""

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices)
    intro = models.TextField(_("introduction"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT
    )
    # An answer at or below these opens a feedback item (one per response).
    negative_score_max = models.PositiveSmallIntegerField(
        _("negative at or below (1–5 scores)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    negative_nps_max = models.PositiveSmallIntegerField(
        _("negative at or below (0–10 scores)"),
        default=6,
        validators=[MinValueValidator(0), MaxValueValidator(9)],
    )
    sent_at = models.DateTimeField(_("first sent at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    audit_fields = (
        "title",
        "kind",
        "intro",
        "status",
        "negative_score_max",
        "negative_nps_max",
        "sent_at",
        "closed_at",
    )

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.title

    @property
    def is_editable(self) -> bool:
        return self.status == SurveyStatus.DRAFT


class SurveyQuestion(models.Model):
    """One question, part of its survey (changed only with it, while the survey is a draft)."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text = models.CharField(_("question"), max_length=300)
    type = models.CharField(_("type"), max_length=10, choices=QuestionType.choices)
    dimension = models.CharField(
        _("dimension"), max_length=10, choices=Dimension.choices, default=Dimension.OVERALL
    )
    # The options of a single-choice question.
    choices = models.JSONField(_("options"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        ordering = ("survey", "position", "id")

    def __str__(self) -> str:
        return self.text

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.type)


class SurveyInvitation(models.Model):
    """One contact asked to answer one survey: a secret link (only its SHA-256 hash is kept), how
    it is delivered (e-mailed by us, or a link handed to the sender) and whether it was answered.
    The customer is the contact's when invited: answers count for it."""

    class Delivery(models.TextChoices):
        LINK = "link", _("Link for the sender")
        EMAIL = "email", _("E-mail")

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="invitations"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_invitations",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="survey_invitations",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    delivery = models.CharField(
        _("delivery"), max_length=10, choices=Delivery.choices, default=Delivery.LINK
    )
    created_at = models.DateTimeField(_("invited at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires_at = models.DateTimeField(_("expires at"))
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "contact"], name="survey_invitation_once_per_contact"
            )
        ]
        indexes = [
            models.Index(fields=["survey", "answered_at"], name="survey_invitation_answered"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} → {self.contact_id}"


class SurveyResponse(models.Model):
    """The answers of one invitation, given once."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="responses"
    )
    invitation = models.OneToOneField(
        SurveyInvitation,
        verbose_name=_("invitation"),
        on_delete=models.CASCADE,
        related_name="response",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ("-answered_at", "-id")
        indexes = [
            models.Index(fields=["survey", "-answered_at", "-id"], name="survey_response_survey"),
            models.Index(fields=["customer", "-answered_at"], name="survey_response_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.answered_at:%Y-%m-%d}"


class SurveyAnswer(models.Model):
    response = models.ForeignKey(
        SurveyResponse, verbose_name=_("response"), on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(
        SurveyQuestion, verbose_name=_("question"), on_delete=models.CASCADE, related_name="answers"
    )
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    choice = models.CharField(_("option"), max_length=200, blank=True)
    text = models.TextField(_("answer"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ("response", "question__position", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question"], name="survey_answer_once_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.score if self.score is not None else self.choice}"


# --- feedback items -----------------------------------------------------------------------------


class FeedbackSource(models.TextChoices):
    TICKET_CSAT = "ticket_csat", _("Ticket satisfaction")
    SURVEY = "survey", _("Survey answer")
    STAFF = "staff", _("Recorded by staff")
    OTHER = "other", _("Other")


class FeedbackStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESPONDED = "responded", _("Responded")
    CLOSED = "closed", _("Closed")


class FeedbackItem(BaseModel):
    """Negative feedback (反馈事项) to answer within 24 hours of wall-clock time (a complaint
    waits on nobody's calendar), then close with an improvement action. ``owner`` answers it;
    nobody when neither the ticket nor the customer has someone (the service desk's then)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="feedback_items",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
    )
    source = models.CharField(_("source"), max_length=20, choices=FeedbackSource.choices)
    ticket = models.ForeignKey(
        "service.Ticket",
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
    )
    survey_response = models.ForeignKey(
        SurveyResponse,
        verbose_name=_("survey response"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
    )
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    summary = models.CharField(_("summary"), max_length=200)
    comment = models.TextField(_("customer's comment"), max_length=4000, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback_items",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=FeedbackStatus.choices, default=FeedbackStatus.OPEN
    )
    respond_by = models.DateTimeField(_("respond by"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    response = models.TextField(_("our response"), max_length=4000, blank=True)
    improvement_action = models.TextField(_("improvement action"), max_length=4000, blank=True)
    improvement_due = models.DateField(_("improvement due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
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
        "customer",
        "contact",
        "source",
        "ticket",
        "survey_response",
        "score",
        "summary",
        "owner",
        "status",
        "respond_by",
        "responded_at",
        "response",
        "improvement_action",
        "improvement_due",
        "closed_at",
        "escalated_at",
        "escalated_to",
    )

    class Meta:
        verbose_name = _("feedback item")
        verbose_name_plural = _("feedback items")
        ordering = ("-created_at", "-id")
        constraints = [
            # The same low score reported twice (a retried confirmation, a double submit) opens
            # one item: per survey response always, per ticket while its item is not closed.
            models.UniqueConstraint(
                fields=["survey_response"],
                condition=Q(survey_response__isnull=False),
                name="feedback_item_once_per_response",
            ),
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(ticket__isnull=False, survey_response__isnull=True)
                & ~Q(status="closed"),
                name="feedback_item_one_open_per_ticket",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "responded", "closed"]),
                name="feedback_item_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at", "-id"], name="feedback_item_status"),
            models.Index(fields=["owner", "status"], name="feedback_item_owner_status"),
            models.Index(fields=["customer", "-created_at"], name="feedback_item_customer"),
            models.Index(
                fields=["respond_by"],
                name="feedback_item_open_respond_by",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_overdue(self) -> bool:
        return self.status == FeedbackStatus.OPEN and self.respond_by < timezone.now()
