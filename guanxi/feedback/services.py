"""Writes for feedback and satisfaction (C4): feedback items (open, respond, close, hand on,
escalate) and surveys (create, edit, send to a segment, close, answer by link).

Every write: explicit actor (None for the scheduled job and for a customer answering by link),
validation before anything is written, one transaction, an audit entry. Feedback items are the
contract the service desk calls when a customer rates a ticket low::

    from guanxi.feedback.services import feedback_item_open

    feedback_item_open(
        actor=None, customer=ticket.customer, source="ticket_csat", ticket=ticket,
        score=1, summary=ticket.subject, comment=comment, contact=ticket.contact,
    )

It is idempotent: a second call for the same ticket (while its item is not closed) or the same
survey response returns the item already opened, changing nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from guanxi.accounts.models import User
from guanxi.core.audit import audit_record, snapshot
from guanxi.core.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_create, model_update, object_soft_delete
from guanxi.core.validation import (
    actor_is_user,
    actor_or_none,
    errors_collect,
    text_clean,
)
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import customer_visible_queryset
from guanxi.feedback.models import (
    SCALES,
    Dimension,
    FeedbackItem,
    FeedbackSource,
    FeedbackStatus,
    QuestionType,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    SurveyQuestion,
    SurveyResponse,
    SurveyStatus,
)
from guanxi.feedback.permissions import (
    feedback_item_can_answer,
    feedback_item_can_record,
    survey_can_manage,
)
from guanxi.feedback.selectors import (
    RECIPIENT_MODES,
    RECIPIENTS_PRIMARY,
    feedback_item_visible_queryset,
    segment_filters,
    survey_invitation_for_token,
    survey_question_rows,
    survey_recipients,
    token_hash,
)

logger = logging.getLogger(__name__)

RESPOND_WITHIN = dt.timedelta(hours=24)
SUMMARY_LIMIT = 200
TEXT_LIMIT = 4000
ANSWER_TEXT_LIMIT = 2000
QUESTIONS_MAX = 30
CHOICES_MIN = 2
CHOICES_MAX = 10
CHOICE_LIMIT = 200
IMPROVEMENT_MAX_DAYS = 3 * 366
EXPIRES_DAYS_DEFAULT = 14
EXPIRES_DAYS_MAX = 90
SEND_MAX = 5000  # invitations one send may make: a bigger segment is sent in parts
BATCH = 1000
EMAIL_TASK_IDS = 500


def _local_today() -> dt.date:
    return timezone.localdate()


# --- errors -------------------------------------------------------------------------------------


class FeedbackClosedError(ApplicationError):
    status_code = 409
    default_code = "feedback_closed"
    default_message = gettext_lazy("This feedback item is closed.")


class FeedbackNotRespondedError(ApplicationError):
    status_code = 409
    default_code = "feedback_not_responded"
    default_message = gettext_lazy("Respond to the customer before closing this feedback item.")


class SurveyNotEditableError(ApplicationError):
    status_code = 409
    default_code = "survey_not_editable"
    default_message = gettext_lazy(
        "This survey has been sent: its questions can no longer change. Copy it into a new "
        "survey instead."
    )


class SurveyClosedError(ApplicationError):
    status_code = 409
    default_code = "survey_closed"
    default_message = gettext_lazy("This survey is closed.")


class SurveyNotSentError(ApplicationError):
    status_code = 409
    default_code = "survey_not_sent"
    default_message = gettext_lazy("This survey has not been sent yet.")


class SurveyAlreadyAnsweredError(ApplicationError):
    status_code = 409
    default_code = "survey_already_answered"
    default_message = gettext_lazy(
        "This survey has already been answered with this link. Thank you — your answers were "
        "recorded the first time."
    )


class SurveySendTooLargeError(ApplicationError):
    status_code = 422
    default_code = "survey_send_too_large"
    default_message = gettext_lazy(
        "This segment reaches more contacts than one send may invite. Narrow the filters and "
        "send in parts."
    )


# --- notifications ------------------------------------------------------------------------------

NOTIFICATION_KINDS = {
    "feedback_opened": gettext_lazy("Negative feedback to answer"),
    "feedback_assigned": gettext_lazy("Feedback handed to you"),
    "feedback_escalated": gettext_lazy("Feedback unanswered after 24 hours"),
}


def _notify(
    *,
    recipient: User | None,
    kind: str,
    message: str,
    item: FeedbackItem,
    dedupe_key: str,
    actor: Any = None,
) -> int:
    """One notification about ``item``, rendered in the recipient's language. The summary may be
    what a customer or a colleague typed: phone numbers and e-mail addresses in it are masked,
    because notifications go out by e-mail and to group robots."""
    from guanxi.engagement.feed import text_scrub
    from guanxi.notifications.services import notify

    if recipient is None or not recipient.is_active:
        return 0
    deadline = timezone.localtime(item.respond_by)
    owner = item.owner.get_full_name() if item.owner_id and item.owner else ""
    return len(
        notify(
            recipients=[recipient],
            kind=kind,
            message=message,
            params={
                "customer": item.customer.name,
                "summary": text_scrub(item.summary),
                "deadline": f"{deadline:%Y-%m-%d %H:%M}",
                "owner": owner,
            },
            url=reverse("feedback:item-detail", args=[item.pk]),
            dedupe_key=dedupe_key,
            actor=actor_or_none(actor),
        )
    )


def _sees_customer(user: User, customer_id: int) -> bool:
    return customer_visible_queryset(actor=user).filter(pk=customer_id).exists()


# --- feedback items -----------------------------------------------------------------------------


def _score_clean(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = -1
    if score < 0 or score > 10 or isinstance(value, bool):
        raise ValidationError({"score": [_("Enter a score from 0 to 10.")]}, code="score_range")
    return score


def _existing_item(*, ticket: Any, survey_response: Any) -> FeedbackItem | None:
    """The item a repeated report of the same low score must return."""
    if survey_response is not None:
        return FeedbackItem.all_objects.filter(survey_response=survey_response).first()
    if ticket is not None:
        return (
            FeedbackItem.all_objects.filter(ticket=ticket, survey_response__isnull=True)
            .exclude(status=FeedbackStatus.CLOSED)
            .first()
        )
    return None


def feedback_item_open(
    *,
    actor: Any,
    customer: Customer,
    source: str,
    summary: str,
    comment: str = "",
    contact: Contact | None = None,
    ticket: Any = None,
    score: int | None = None,
    owner: User | None = None,
    survey_response: SurveyResponse | None = None,
) -> FeedbackItem:
    """Open a feedback item (反馈事项) to be answered within 24 hours.

    ``actor`` is None when a customer's link triggers it (a low score on a ticket confirmation
    or a survey). Who must answer: ``owner`` if given (and active), else the ticket's assignee,
    else the customer's owner, else nobody (the item is then listed as unassigned for the
    service desk). The owner is notified ("feedback_opened"). Idempotent: for the same
    ``survey_response``, or the same ``ticket`` while its item is not closed, the item already
    opened is returned and nothing changes. Staff recording feedback (source ``staff`` or
    ``other``) must be allowed to (permissions.feedback_item_can_record); the low-score sources
    are the system's own act.
    """
    if source in (FeedbackSource.STAFF, FeedbackSource.OTHER) and not (
        actor_is_user(actor) and feedback_item_can_record(actor, customer)
    ):
        raise PermissionDeniedError()
    errors: dict[str, list[str]] = {}
    if source not in FeedbackSource.values:
        errors["source"] = [_("Select a valid choice.")]
    summary_text = errors_collect(
        errors, lambda: text_clean("summary", summary, limit=SUMMARY_LIMIT, required=True)
    )
    comment_text = errors_collect(errors, lambda: text_clean("comment", comment, limit=TEXT_LIMIT))
    score_value = errors_collect(errors, lambda: _score_clean(score))
    if contact is not None and contact.customer_id != customer.pk:
        errors["contact"] = [_("Choose a contact of this customer.")]
    if ticket is not None and ticket.customer_id != customer.pk:
        errors["ticket"] = [_("The ticket belongs to another customer.")]
    if survey_response is not None and survey_response.customer_id != customer.pk:
        errors["survey_response"] = [_("The survey response belongs to another customer.")]
    if errors:
        raise ValidationError(errors)
    existing = _existing_item(ticket=ticket, survey_response=survey_response)
    if existing is not None:
        return existing
    if not (isinstance(owner, User) and owner.is_active):
        # A deactivated assignee cannot answer: the next in line does (a customer's low score
        # must never fail for want of an owner).
        owner = None
    if owner is None and ticket is not None and ticket.assignee_id:
        owner = User.objects.filter(pk=ticket.assignee_id, is_active=True).first()
    if owner is None and customer.owner_id:
        owner = User.objects.filter(pk=customer.owner_id, is_active=True).first()
    now = timezone.now()
    item = FeedbackItem(
        customer=customer,
        contact=contact,
        source=source,
        ticket=ticket,
        survey_response=survey_response,
        score=score_value,
        summary=summary_text or "",
        comment=comment_text or "",
        owner=owner,
        respond_by=now + RESPOND_WITHIN,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            model_create(instance=item, actor=actor)
            if owner is not None and owner.pk != getattr(actor_or_none(actor), "pk", None):
                _notify(
                    recipient=owner,
                    kind="feedback_opened",
                    message=gettext_noop(
                        "Negative feedback from %(customer)s: “%(summary)s”. Respond by "
                        "%(deadline)s."
                    ),
                    item=item,
                    dedupe_key=f"feedback_opened:{item.pk}",
                    actor=actor,
                )
    except (IntegrityError, ValidationError):
        # Two reports of the same low score at the same moment: the constraint let one in.
        existing = _existing_item(ticket=ticket, survey_response=survey_response)
        if existing is not None:
            return existing
        raise
    return item


def _locked(item: FeedbackItem) -> FeedbackItem:
    current = FeedbackItem.objects.select_for_update().filter(pk=item.pk).first()
    if current is None:
        raise FeedbackClosedError()
    current.customer = item.customer
    return current


def _improvement_clean(
    action: Any, due: Any, *, today: dt.date, required: bool = False
) -> tuple[str, dt.date | None]:
    errors: dict[str, list[str]] = {}
    text = errors_collect(
        errors,
        lambda: text_clean("improvement_action", action, limit=TEXT_LIMIT, required=required),
    )
    if required and "improvement_action" in errors:
        errors["improvement_action"] = [
            _("Record the improvement action before closing the feedback item.")
        ]
    if due is not None and not isinstance(due, dt.date):
        errors["improvement_due"] = [_("Enter a valid date.")]
    elif due is not None and not today <= due <= today + dt.timedelta(days=IMPROVEMENT_MAX_DAYS):
        errors["improvement_due"] = [_("Choose a date from today to three years ahead.")]
    elif text and due is None:
        errors["improvement_due"] = [_("Give the improvement action a due date.")]
    elif due is not None and not text:
        errors["improvement_action"] = [_("Say what will be improved by this date.")]
    if errors:
        raise ValidationError(errors)
    return text or "", due


def feedback_item_respond(
    *,
    actor: Any,
    item: FeedbackItem,
    response: str,
    improvement_action: str = "",
    improvement_due: dt.date | None = None,
    version: int,
) -> FeedbackItem:
    """Record what we told the customer (and, if decided, the improvement action with its due
    date). The first response stops the 24-hour clock; a later one corrects the text, keeping
    the time of the first."""
    if not feedback_item_can_answer(actor, item):
        raise PermissionDeniedError()
    if item.status == FeedbackStatus.CLOSED:
        raise FeedbackClosedError()
    errors: dict[str, list[str]] = {}
    text = errors_collect(
        errors, lambda: text_clean("response", response, limit=TEXT_LIMIT, required=True)
    )
    improvement = errors_collect(
        errors,
        lambda: _improvement_clean(improvement_action, improvement_due, today=_local_today()),
    )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(item)
        if current.status == FeedbackStatus.CLOSED:
            raise FeedbackClosedError()
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=current,
            data={
                "status": FeedbackStatus.RESPONDED,
                "response": text,
                "responded_at": current.responded_at or now,
                "responded_by": current.responded_by if current.responded_at else actor,
                "improvement_action": improvement[0],
                "improvement_due": improvement[1],
            },
            actor=actor,
            expected_version=version,
        )


def feedback_item_close(
    *,
    actor: Any,
    item: FeedbackItem,
    version: int,
    improvement_action: str | None = None,
    improvement_due: dt.date | None = None,
) -> FeedbackItem:
    """Close a responded item. It needs its improvement action (what will change so that this
    does not happen again) with a due date: given here, or recorded with the response."""
    if not feedback_item_can_answer(actor, item):
        raise PermissionDeniedError()
    if item.status == FeedbackStatus.CLOSED:
        raise FeedbackClosedError()
    if item.status != FeedbackStatus.RESPONDED:
        raise FeedbackNotRespondedError()
    if improvement_action is None:
        # Recorded with the response: kept as it was, even if its due date has passed since.
        text, day = item.improvement_action, item.improvement_due
        if not text or day is None:
            raise ValidationError(
                {
                    "improvement_action": [
                        _("Record the improvement action before closing the feedback item.")
                    ]
                }
            )
    else:
        text, day = _improvement_clean(
            improvement_action, improvement_due, today=_local_today(), required=True
        )
    with transaction.atomic():
        current = _locked(item)
        if current.status == FeedbackStatus.CLOSED:
            raise FeedbackClosedError()
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=current,
            data={
                "status": FeedbackStatus.CLOSED,
                "closed_at": timezone.now(),
                "closed_by": actor,
                "improvement_action": text,
                "improvement_due": day,
            },
            actor=actor,
            expected_version=version,
        )


def feedback_item_assign(
    *, actor: Any, item: FeedbackItem, owner: Any, version: int
) -> FeedbackItem:
    """Hand an open or responded item to ``owner``, an active colleague who sees it already
    (through its customer or its ticket). The new owner is notified."""
    if not feedback_item_can_answer(actor, item):
        raise PermissionDeniedError()
    if item.status == FeedbackStatus.CLOSED:
        raise FeedbackClosedError()
    pk = owner.pk if hasattr(owner, "pk") else owner
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        pk = -1
    user = User.objects.filter(pk=pk, is_active=True).first() if 0 < pk < 2**63 else None
    if user is not None and user.pk == item.owner_id:
        raise ValidationError({"owner": [_("This colleague owns the feedback item already.")]})
    if user is None or not feedback_item_visible_queryset(actor=user).filter(pk=item.pk).exists():
        raise ValidationError(
            {"owner": [_("Choose an active colleague who can see this feedback item.")]}
        )
    with transaction.atomic():
        current = _locked(item)
        if current.status == FeedbackStatus.CLOSED:
            raise FeedbackClosedError()
        updated: FeedbackItem = model_update(  # type: ignore[assignment]  # the instance given
            instance=current, data={"owner": user}, actor=actor, expected_version=version
        )
        if user.pk != getattr(actor_or_none(actor), "pk", None):
            _notify(
                recipient=user,
                kind="feedback_assigned",
                message=gettext_noop(
                    "Feedback from %(customer)s was handed to you: “%(summary)s”. Respond by "
                    "%(deadline)s."
                ),
                item=updated,
                dedupe_key=f"feedback_assigned:{updated.pk}:{updated.version}",
                actor=actor,
            )
    return updated


def feedback_items_escalate(*, now: dt.datetime | None = None) -> int:
    """Open items whose 24 hours have passed unanswered go to their owner's manager
    (User.manager) — once per item, and only to a manager who may see the customer (the
    notification names it). An item without such a manager is marked escalated all the same,
    so that the job does not look at it again. Returns how many items were escalated."""
    now = now or timezone.now()
    due = (
        FeedbackItem.objects.filter(
            status=FeedbackStatus.OPEN,
            respond_by__lt=now,
            escalated_at__isnull=True,
            customer__deleted_at__isnull=True,
        )
        .select_related("customer", "owner", "owner__manager")
        .order_by("respond_by", "id")
    )
    escalated = 0
    for item in due.iterator(chunk_size=BATCH):
        owner = item.owner
        manager = owner.manager if owner is not None and owner.manager_id else None
        if manager is not None and (
            not manager.is_active
            or manager.pk == owner.pk
            or not _sees_customer(manager, item.customer_id)
        ):
            manager = None
        with transaction.atomic():
            moved = FeedbackItem.objects.filter(
                pk=item.pk, status=FeedbackStatus.OPEN, escalated_at__isnull=True
            ).update(
                escalated_at=now,
                escalated_to=manager,
                updated_at=now,
                version=F("version") + 1,
            )
            if not moved:
                continue
            escalated += 1
            audit_record(
                actor=None,
                action=AuditEntry.Action.UPDATE,
                obj=item,
                changes={
                    "escalated_at": {"before": None, "after": now.isoformat()},
                    "escalated_to": {"before": None, "after": manager.pk if manager else None},
                },
                note="feedback_escalated",
            )
            if manager is not None:
                _notify(
                    recipient=manager,
                    kind="feedback_escalated",
                    message=gettext_noop(
                        "Unanswered for 24 hours: feedback from %(customer)s (“%(summary)s”), "
                        "owned by %(owner)s."
                    ),
                    item=item,
                    dedupe_key=f"feedback_escalated:{item.pk}",
                )
    return escalated


# --- surveys: questions -------------------------------------------------------------------------


def survey_default_questions(kind: str) -> list[dict[str, Any]]:
    """The questions a new survey of ``kind`` starts with, in the active language (they are the
    survey's own text from then on)."""
    if kind == SurveyKind.NPS:
        return [
            {
                "text": _("How likely is it that you would recommend us to a friend or colleague?"),
                "type": QuestionType.NPS,
                "dimension": Dimension.OVERALL,
                "required": True,
            },
            {
                "text": _("What is the main reason for your score?"),
                "type": QuestionType.TEXT,
                "dimension": Dimension.OVERALL,
                "required": False,
            },
        ]
    if kind == SurveyKind.CUSTOM:
        rows = [
            (Dimension.QUALITY, _("How satisfied are you with the quality of our products?")),
            (Dimension.PRICE, _("How satisfied are you with our prices?")),
            (Dimension.ATTITUDE, _("How satisfied are you with the attitude of our staff?")),
            (Dimension.SPEED, _("How satisfied are you with how quickly we respond?")),
        ]
        return [
            {"text": text, "type": QuestionType.SCORE, "dimension": dimension, "required": True}
            for dimension, text in rows
        ] + [
            {
                "text": _("Is there anything else you would like to tell us?"),
                "type": QuestionType.TEXT,
                "dimension": Dimension.OTHER,
                "required": False,
            }
        ]
    return [
        {
            "text": _("Overall, how satisfied are you with our products and service?"),
            "type": QuestionType.SCORE,
            "dimension": Dimension.OVERALL,
            "required": True,
        },
        {
            "text": _("What should we do better?"),
            "type": QuestionType.TEXT,
            "dimension": Dimension.OVERALL,
            "required": False,
        },
    ]


def _choices_clean(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        return []
    seen: list[str] = []
    for option in value:
        text = str(option or "").strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def survey_questions_clean(kind: str, questions: Any) -> list[dict[str, Any]]:
    """``questions`` (a list of {text, type, dimension, choices, required}) checked against the
    survey's ``kind``: a CSAT survey asks at least one 1–5 score, an NPS survey one 0–10 question,
    a questionnaire at least one question. Errors come back at once, under ``questions``."""
    messages: list[str] = []
    if not isinstance(questions, list | tuple):
        raise ValidationError({"questions": [_("Give the survey its questions.")]})
    cleaned: list[dict[str, Any]] = []
    for number, raw in enumerate(questions, start=1):
        if not isinstance(raw, Mapping):
            messages.append(_("Question %(number)s is not valid.") % {"number": number})
            continue
        text = str(raw.get("text") or "").strip()
        kind_of = str(raw.get("type") or "")
        dimension = str(raw.get("dimension") or Dimension.OVERALL)
        choices = _choices_clean(raw.get("choices"))
        problems = []
        if not text:
            problems.append(_("the question is empty"))
        elif len(text) > 300:
            problems.append(_("the question is longer than 300 characters"))
        if kind_of not in QuestionType.values:
            problems.append(_("choose its type"))
        if dimension not in Dimension.values:
            problems.append(_("choose its dimension"))
        if kind_of == QuestionType.CHOICE:
            if not CHOICES_MIN <= len(choices) <= CHOICES_MAX:
                problems.append(_("give it 2 to 10 options, one per line"))
            elif any(len(option) > CHOICE_LIMIT for option in choices):
                problems.append(_("keep each option under 200 characters"))
        else:
            choices = []
        if problems:
            messages.append(
                _("Question %(number)s: %(problems)s.")
                % {"number": number, "problems": _("; ").join(str(p) for p in problems)}
            )
            continue
        cleaned.append(
            {
                "text": text,
                "type": kind_of,
                "dimension": dimension,
                "choices": choices,
                "required": bool(raw.get("required", True)),
            }
        )
    if len(questions) > QUESTIONS_MAX:
        messages.append(_("Ask at most %(max)s questions.") % {"max": QUESTIONS_MAX})
    if not messages:
        types = {question["type"] for question in cleaned}
        if not cleaned:
            messages.append(_("Ask at least one question."))
        elif kind == SurveyKind.CSAT and QuestionType.SCORE not in types:
            messages.append(_("A CSAT survey asks at least one 1–5 score question."))
        elif kind == SurveyKind.NPS and QuestionType.NPS not in types:
            messages.append(_("An NPS survey asks the 0–10 recommendation question."))
    if messages:
        raise ValidationError({"questions": messages})
    return cleaned


def _questions_write(survey: Survey, questions: list[dict[str, Any]]) -> None:
    survey.questions.all().delete()
    SurveyQuestion.objects.bulk_create(
        [
            SurveyQuestion(survey=survey, position=index, **row)
            for index, row in enumerate(questions)
        ]
    )


# --- surveys: create, edit, close, delete -------------------------------------------------------

SURVEY_EDITABLE_FIELDS = frozenset(
    {"title", "kind", "intro", "negative_score_max", "negative_nps_max"}
)


def survey_create(
    *,
    actor: Any,
    title: str,
    kind: str,
    intro: str = "",
    questions: Sequence[Mapping[str, Any]] | None = None,
    negative_score_max: int = 2,
    negative_nps_max: int = 6,
) -> Survey:
    """A draft survey. Without ``questions`` it starts with the kind's usual ones."""
    if not survey_can_manage(actor):
        raise PermissionDeniedError()
    errors: dict[str, list[str]] = {}
    if kind not in SurveyKind.values:
        errors["kind"] = [_("Select a valid choice.")]
    rows = (
        errors_collect(
            errors,
            lambda: survey_questions_clean(
                kind, list(questions) if questions is not None else survey_default_questions(kind)
            ),
        )
        if not errors
        else None
    )
    survey = Survey(
        title=str(title or "").strip(),
        kind=kind,
        intro=str(intro or "").strip(),
        negative_score_max=negative_score_max,
        negative_nps_max=negative_nps_max,
        created_by=actor,
        updated_by=actor,
    )
    try:
        survey.full_clean()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        survey.save(force_insert=True)
        _questions_write(survey, rows or [])
        changes = {
            name: {"before": None, "after": value} for name, value in snapshot(survey).items()
        }
        changes["questions"] = {"before": None, "after": rows}
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=survey, changes=changes)
    return survey


def survey_update(*, actor: Any, survey: Survey, data: Mapping[str, Any], version: int) -> Survey:
    """Change a draft: its fields and, with ``questions``, all its questions at once."""
    if not survey_can_manage(actor):
        raise PermissionDeniedError()
    if survey.status != SurveyStatus.DRAFT:
        raise SurveyNotEditableError()
    unknown = set(data) - SURVEY_EDITABLE_FIELDS - {"questions"}
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    fields = {name: value for name, value in data.items() if name != "questions"}
    if "title" in fields:
        fields["title"] = str(fields["title"] or "").strip()
    if "intro" in fields:
        fields["intro"] = str(fields["intro"] or "").strip()
    kind = fields.get("kind", survey.kind)
    errors: dict[str, list[str]] = {}
    if kind not in SurveyKind.values:
        errors["kind"] = [_("Select a valid choice.")]
    rows = None
    if "questions" in data and not errors:
        rows = errors_collect(errors, lambda: survey_questions_clean(kind, data["questions"]))
    elif "kind" in fields and not errors:
        # A new kind must still fit the questions the survey has.
        errors_collect(
            errors, lambda: survey_questions_clean(kind, survey_question_rows(survey=survey))
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = Survey.objects.select_for_update().filter(pk=survey.pk).first()
        if current is None or current.status != SurveyStatus.DRAFT:
            raise SurveyNotEditableError()
        before = survey_question_rows(survey=current) if rows is not None else None
        updated: Survey = model_update(  # type: ignore[assignment]  # returns the instance given
            instance=current, data=fields, actor=actor, expected_version=version
        )
        if rows is not None and rows != before:
            _questions_write(updated, rows)
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=updated,
                changes={"questions": {"before": before, "after": rows}},
            )
    return updated


def survey_close(*, actor: Any, survey: Survey, version: int) -> Survey:
    """Close a survey: its links stop working; its answers stay."""
    if not survey_can_manage(actor):
        raise PermissionDeniedError()
    if survey.status == SurveyStatus.CLOSED:
        raise SurveyClosedError()
    with transaction.atomic():
        current = Survey.objects.select_for_update().filter(pk=survey.pk).first()
        if current is None or current.status == SurveyStatus.CLOSED:
            raise SurveyClosedError()
        return model_update(  # type: ignore[return-value]  # returns the instance given
            instance=current,
            data={"status": SurveyStatus.CLOSED, "closed_at": timezone.now()},
            actor=actor,
            expected_version=version,
        )


def survey_delete(*, actor: Any, survey: Survey) -> Survey:
    """Move a survey to the recycle bin; its links stop working with it."""
    if not survey_can_manage(actor):
        raise PermissionDeniedError()
    return object_soft_delete(instance=survey, actor=actor)  # type: ignore[return-value]


# --- surveys: sending ---------------------------------------------------------------------------


def survey_email_available() -> bool:
    """Whether invitations can go out by e-mail: any configured backend but the dummy one."""
    return settings.EMAIL_BACKEND != "django.core.mail.backends.dummy.EmailBackend"


def survey_link(raw: str) -> str:
    """The absolute link of a raw token (for e-mails and the sender's list)."""
    path = reverse("feedback:survey-answer", args=[raw])
    return settings.SITE_URL.rstrip("/") + path


def _new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SurveyLink:
    invitation: SurveyInvitation
    url: str


@dataclass
class SurveySendResult:
    invited: int = 0
    by_email: int = 0
    skipped: int = 0  # reached by the segment but invited before
    links: list[SurveyLink] = field(default_factory=list)


def _expires_days_clean(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= EXPIRES_DAYS_MAX or isinstance(value, bool):
        raise ValidationError(
            {"expires_days": [_("Choose 1 to %(max)s days.") % {"max": EXPIRES_DAYS_MAX}]}
        )
    return days


def survey_send(
    *,
    actor: Any,
    survey: Survey,
    filters: Mapping[str, Any],
    recipients: str = RECIPIENTS_PRIMARY,
    expires_days: int = EXPIRES_DAYS_DEFAULT,
    email: bool = True,
    now: dt.datetime | None = None,
) -> SurveySendResult:
    """Invite the contacts the segment ``filters`` reaches in ``actor``'s scope
    (selectors.survey_recipients), each once per survey. Each invitation gets its own secret
    link valid for ``expires_days``. A contact with an e-mail address is e-mailed the link after
    the commit (when ``email`` and e-mail works); for the others the links are returned, shown
    to the sender once (only their hashes are kept). The survey is sending from then on."""
    if not survey_can_manage(actor):
        raise PermissionDeniedError()
    if survey.status == SurveyStatus.CLOSED:
        raise SurveyClosedError()
    errors: dict[str, list[str]] = {}
    if recipients not in RECIPIENT_MODES:
        errors["recipients"] = [_("Select a valid choice.")]
    days = errors_collect(errors, lambda: _expires_days_clean(expires_days))
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    use_email = bool(email) and survey_email_available()
    result = SurveySendResult()
    emailed_ids: list[int] = []
    with transaction.atomic():
        current = Survey.objects.select_for_update().filter(pk=survey.pk).first()
        if current is None:
            raise SurveyClosedError()
        if current.status == SurveyStatus.CLOSED:
            raise SurveyClosedError()
        if not current.questions.exists():
            raise ValidationError({"questions": [_("Ask at least one question.")]})
        contacts = survey_recipients(actor=actor, filters=filters, mode=recipients)
        invited = set(
            SurveyInvitation.objects.filter(survey=current).values_list("contact_id", flat=True)
        )
        rows = list(contacts.values_list("pk", "customer_id", "email").order_by("pk"))
        fresh = [row for row in rows if row[0] not in invited]
        result.skipped = len(rows) - len(fresh)
        if len(fresh) > SEND_MAX:
            raise SurveySendTooLargeError(extra={"contacts": len(fresh), "max": SEND_MAX})
        expires_at = now + dt.timedelta(days=days or EXPIRES_DAYS_DEFAULT)
        pending: list[tuple[SurveyInvitation, str | None]] = []
        for contact_id, customer_id, address in fresh:
            raw = _new_token()
            by_email = use_email and bool(address)
            invitation = SurveyInvitation(
                survey=current,
                customer_id=customer_id,
                contact_id=contact_id,
                token_hash=token_hash(raw),
                delivery=(
                    SurveyInvitation.Delivery.EMAIL if by_email else SurveyInvitation.Delivery.LINK
                ),
                created_at=now,
                created_by=actor_or_none(actor),
                expires_at=expires_at,
            )
            # An e-mailed invitation gets a new secret when the e-mail is written: the one
            # made here is never shown to anyone.
            pending.append((invitation, None if by_email else raw))
        try:
            with transaction.atomic():
                SurveyInvitation.objects.bulk_create(
                    [invitation for invitation, _raw in pending], batch_size=BATCH
                )
        except IntegrityError as error:
            # Another send of this survey reached the same contacts a moment ago.
            raise ConflictError(
                _("This survey is being sent by someone else right now. Try again.")
            ) from error
        if not pending:
            return result
        saved = dict(
            SurveyInvitation.objects.filter(
                survey=current, contact_id__in=[row[0] for row in fresh]
            ).values_list("contact_id", "pk")
        )
        for invitation, raw in pending:
            invitation.pk = saved[invitation.contact_id]
            if raw is None:
                emailed_ids.append(invitation.pk)
            else:
                result.links.append(SurveyLink(invitation=invitation, url=survey_link(raw)))
        result.invited = len(pending)
        result.by_email = len(emailed_ids)
        data: dict[str, Any] = {"status": SurveyStatus.SENDING}
        if current.sent_at is None:
            data["sent_at"] = now
        sent: Survey = model_update(  # type: ignore[assignment]  # returns the instance given
            instance=current, data=data, actor=actor
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=current,
            changes={
                "invited": result.invited,
                "by_email": result.by_email,
                "skipped": result.skipped,
                "recipients": recipients,
                "segment": urlencode(
                    {
                        name: value
                        for name, value in segment_filters(filters).items()
                        if value is not None
                    }
                ),
                "expires_at": expires_at.isoformat(),
            },
            note="survey_sent",
        )
        if emailed_ids:
            transaction.on_commit(lambda ids=list(emailed_ids): _email_enqueue(ids))
    survey.status = sent.status
    survey.version = sent.version
    survey.sent_at = sent.sent_at
    return result


def _email_enqueue(ids: list[int]) -> None:
    from guanxi.feedback.tasks import survey_invitations_email_task

    for start in range(0, len(ids), EMAIL_TASK_IDS):
        survey_invitations_email_task.enqueue(ids[start : start + EMAIL_TASK_IDS])


def survey_invitations_email(
    *, invitation_ids: Iterable[int], now: dt.datetime | None = None
) -> int:
    """E-mail the invitations among ``invitation_ids`` still waiting for their e-mail (not
    answered, not expired, the survey sending, the contact not opted out of surveys and
    marketing since). Each gets a fresh secret, kept (hashed) only if
    its e-mail went out, so a failed e-mail leaves nothing half-done and a rerun sends only what
    is missing. Returns how many were sent."""
    now = now or timezone.now()
    waiting = (
        SurveyInvitation.objects.filter(
            pk__in=list(invitation_ids),
            delivery=SurveyInvitation.Delivery.EMAIL,
            emailed_at__isnull=True,
            answered_at__isnull=True,
            expires_at__gt=now,
            survey__status=SurveyStatus.SENDING,
            survey__deleted_at__isnull=True,
        )
        .filter(contact__deleted_at__isnull=True, customer__deleted_at__isnull=True)
        # Opted out after the send was made (a retried job, a slow queue): no e-mail after all.
        .filter(contact__marketing_opt_out=False)
        .exclude(contact__email="")
        .select_related("survey", "customer", "contact")
        .order_by("pk")
    )
    sent = 0
    for invitation in waiting:
        raw = _new_token()
        try:
            with transaction.atomic():
                moved = SurveyInvitation.objects.filter(
                    pk=invitation.pk, emailed_at__isnull=True, answered_at__isnull=True
                ).update(token_hash=token_hash(raw), emailed_at=now)
                if not moved:
                    continue
                _invitation_email(invitation, survey_link(raw)).send()
        except Exception:  # a mail server's refusal must not stop the others
            logger.exception("survey invitation %s: e-mail failed", invitation.pk)
            continue
        sent += 1
    return sent


def _invitation_email(invitation: SurveyInvitation, url: str) -> EmailMessage:
    """The invitation in the deployment's language (Chinese first): the survey's title and
    introduction, the link and until when it works."""
    context = {
        "survey": invitation.survey,
        "contact_name": invitation.contact.name,
        "customer_name": invitation.customer.name,
        "url": url,
        "expires_at": timezone.localtime(invitation.expires_at),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("feedback/email/survey_invitation_subject.txt", context)
        body = render_to_string("feedback/email/survey_invitation_body.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split())[:200],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.contact.email],
    )


def survey_links_reissue(
    *, actor: Any, survey: Survey, now: dt.datetime | None = None
) -> list[SurveyLink]:
    """New links for the unanswered, unexpired invitations of ``survey`` that the sender hands
    out (not the e-mailed ones) to customers in ``actor``'s scope — for when the list shown at
    sending was lost. The previous links of those invitations stop working."""
    if not survey_can_manage(actor):
        raise PermissionDeniedError()
    if survey.status != SurveyStatus.SENDING:
        raise SurveyClosedError() if survey.status == SurveyStatus.CLOSED else SurveyNotSentError()
    now = now or timezone.now()
    visible = customer_visible_queryset(actor=actor).values("pk")
    invitations = list(
        SurveyInvitation.objects.filter(
            survey=survey,
            customer__in=visible,
            delivery=SurveyInvitation.Delivery.LINK,
            answered_at__isnull=True,
            expires_at__gt=now,
        )
        .select_related("customer", "contact")
        .order_by("customer__name", "customer_id", "contact_id")
    )
    links: list[SurveyLink] = []
    if not invitations:
        return links
    with transaction.atomic():
        for invitation in invitations:
            raw = _new_token()
            invitation.token_hash = token_hash(raw)
            links.append(SurveyLink(invitation=invitation, url=survey_link(raw)))
        SurveyInvitation.objects.bulk_update(invitations, ["token_hash"], batch_size=BATCH)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=survey,
            changes={"reissued": len(links)},
            note="survey_links_reissued",
        )
    return links


# --- surveys: answering -------------------------------------------------------------------------


def survey_answers_clean(
    questions: Sequence[SurveyQuestion], answers: Mapping[Any, Any]
) -> list[SurveyAnswer]:
    """``answers`` (question id → what was entered: a number for scores, the option's text for a
    choice, free text) as unsaved answers. Errors are keyed ``q<question id>``."""
    errors: dict[str, list[str]] = {}
    values = {str(key): value for key, value in answers.items()}
    rows: list[SurveyAnswer] = []
    for question in questions:
        key = f"q{question.pk}"
        raw = values.get(str(question.pk))
        text = str(raw if raw is not None else "").strip()
        if not text:
            if question.required:
                errors[key] = [_("Please answer this question.")]
            continue
        scale = SCALES.get(question.type)
        if scale is not None:
            try:
                score = int(text)
            except ValueError:
                score = -1
            if not scale[0] <= score <= scale[1]:
                errors[key] = [
                    _("Choose a score from %(low)s to %(high)s.")
                    % {"low": scale[0], "high": scale[1]}
                ]
                continue
            rows.append(SurveyAnswer(question=question, score=score))
        elif question.type == QuestionType.CHOICE:
            if text not in (question.choices or []):
                errors[key] = [_("Choose one of the options.")]
                continue
            rows.append(SurveyAnswer(question=question, choice=text))
        else:
            if len(text) > ANSWER_TEXT_LIMIT:
                errors[key] = [
                    _("Keep this under %(limit)s characters.") % {"limit": ANSWER_TEXT_LIMIT}
                ]
                continue
            rows.append(SurveyAnswer(question=question, text=text))
    if errors:
        raise ValidationError(errors)
    return rows


def _negative(survey: Survey, rows: Sequence[SurveyAnswer]) -> SurveyAnswer | None:
    """The answer that makes a response negative: the overall question's if it is low, else the
    first low one in question order."""
    low = [
        row
        for row in rows
        if row.score is not None
        and (
            (row.question.type == QuestionType.SCORE and row.score <= survey.negative_score_max)
            or (row.question.type == QuestionType.NPS and row.score <= survey.negative_nps_max)
        )
    ]
    overall = [row for row in low if row.question.dimension == Dimension.OVERALL]
    return (overall or low or [None])[0]


def survey_response_submit(
    *,
    token: str,
    answers: Mapping[Any, Any],
    language: str = "",
    now: dt.datetime | None = None,
) -> SurveyResponse:
    """Record a contact's answers through their link, once. An unknown or expired link (or a
    closed survey) is a NotFoundError that says nothing more; a second submission is
    SurveyAlreadyAnsweredError and changes nothing; a negative score (at or below the survey's
    thresholds) opens a feedback item for the customer's owner."""
    from guanxi.core.exceptions import NotFoundError

    now = now or timezone.now()
    invitation = survey_invitation_for_token(token=token, now=now)
    if invitation is None:
        raise NotFoundError()
    if invitation.answered_at is not None:
        raise SurveyAlreadyAnsweredError()
    survey = invitation.survey
    questions = list(survey.questions.order_by("position", "id"))
    rows = survey_answers_clean(questions, answers)
    with transaction.atomic():
        claimed = SurveyInvitation.objects.filter(
            pk=invitation.pk, answered_at__isnull=True
        ).update(answered_at=now)
        if not claimed:
            raise SurveyAlreadyAnsweredError()
        response = SurveyResponse(
            survey=survey,
            invitation=invitation,
            customer_id=invitation.customer_id,
            contact_id=invitation.contact_id,
            answered_at=now,
            language=(language or "")[:10],
        )
        response.save(force_insert=True)
        for row in rows:
            row.response = response
        SurveyAnswer.objects.bulk_create(rows)
        audit_record(
            actor=None,
            action=AuditEntry.Action.CREATE,
            obj=response,
            object_label=f"{survey.title}"[:255],
            changes={
                "survey": survey.pk,
                "customer": invitation.customer_id,
                "answers": len(rows),
            },
            note="survey_answered",
        )
        low = _negative(survey, rows)
        if low is not None:
            _survey_feedback_open(survey, response, invitation, low, rows)
    return response


def _survey_feedback_open(
    survey: Survey,
    response: SurveyResponse,
    invitation: SurveyInvitation,
    low: SurveyAnswer,
    rows: Sequence[SurveyAnswer],
) -> FeedbackItem:
    scale = SCALES.get(low.question.type) or (0, 10)
    with translation.override(settings.LANGUAGE_CODE):
        summary = _("Survey “%(survey)s”: %(question)s %(score)s/%(max)s") % {
            "survey": survey.title,
            "question": low.question.text,
            "score": low.score,
            "max": scale[1],
        }
    comment = "\n".join(row.text for row in rows if row.text)
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 1] + "…"
    return feedback_item_open(
        actor=None,
        customer=invitation.customer,
        source=FeedbackSource.SURVEY,
        summary=summary,
        comment=comment[:TEXT_LIMIT],
        contact=invitation.contact if invitation.contact_id else None,
        score=low.score,
        survey_response=response,
    )
