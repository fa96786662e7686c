"""Reads of feedback and satisfaction: which feedback items and survey answers a user may see,
the lists and their filters, a survey's recipients in the sender's scope, the public link's
invitation, and the analysis figures (SQL aggregation in the database, never a Python loop over
answers).

Data scope: a feedback item is visible with its customer (customers.selectors.customer_visible_q),
with its ticket (service.selectors.ticket_visible_q) or to its owner. Survey answers count for a
viewer only when they may see the answering customer, so every figure is of their own scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncMonth
from django.utils import timezone

from guanxi.core.pagination import Page, keyset_paginate
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import customer_list, customer_visible_q
from guanxi.engagement.selectors import filter_dates_check
from guanxi.feedback.models import (
    Dimension,
    FeedbackItem,
    FeedbackStatus,
    QuestionType,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
    SurveyStatus,
)
from guanxi.service.models import Ticket
from guanxi.service.selectors import ticket_visible_q


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# --- feedback items -----------------------------------------------------------------------------


def feedback_item_visible_q(actor: Any, *, prefix: str = "") -> Q:
    """Items ``actor`` may see: those of customers in their view, those of tickets in their view,
    and their own (an owner named on an item of a customer they cannot otherwise see)."""
    if not _active(actor):
        return Q(pk__in=[])
    customers = customer_visible_q(actor, prefix=f"{prefix}customer__")
    tickets = ticket_visible_q(actor, prefix=f"{prefix}ticket__")
    if not customers or not tickets:
        return Q()  # scope "all": an empty Q is everything
    return customers | tickets | Q(**{f"{prefix}owner": actor.pk})


def feedback_item_visible_queryset(*, actor: Any) -> QuerySet[FeedbackItem]:
    """Live items of live customers that ``actor`` may see."""
    if not _active(actor):
        return FeedbackItem.objects.none()
    return FeedbackItem.objects.filter(
        feedback_item_visible_q(actor), customer__deleted_at__isnull=True
    )


FEEDBACK_ITEM_ORDERING = ("-created_at", "-id")
UNASSIGNED = "none"
NOT_CLOSED = "active"  # a status filter: open or responded


def feedback_item_list(
    *,
    actor: Any,
    status: str = "",
    overdue: bool = False,
    source: str = "",
    owner: int | str | None = None,
    customer: int | None = None,
    ticket: int | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[FeedbackItem]:
    """The visible items, filtered. ``status``: one of FeedbackStatus or ``"active"`` (not
    closed); ``owner``: a user id, or ``"none"`` for unassigned items; ``overdue``: still open
    past their respond-by time."""
    items = feedback_item_visible_queryset(actor=actor)
    if status == NOT_CLOSED:
        items = items.exclude(status=FeedbackStatus.CLOSED)
    elif status:
        items = items.filter(status=status)
    if overdue:
        items = items.filter(status=FeedbackStatus.OPEN, respond_by__lt=now or timezone.now())
    if source:
        items = items.filter(source=source)
    if owner == UNASSIGNED:
        items = items.filter(owner__isnull=True)
    elif owner is not None:
        items = items.filter(owner_id=owner)
    if customer is not None:
        items = items.filter(customer_id=customer)
    if ticket is not None:
        items = items.filter(ticket_id=ticket)
    return items


def feedback_item_page(
    *, actor: Any, cursor: str | None = None, limit: int = 50, **filters: Any
) -> Page:
    items = feedback_item_list(actor=actor, **filters).select_related(
        "customer", "owner", "ticket", "contact", "survey_response"
    )
    return keyset_paginate(items, ordering=FEEDBACK_ITEM_ORDERING, cursor=cursor, limit=limit)


def feedback_item_counts(*, actor: Any, now: dt.datetime | None = None) -> dict[str, int]:
    """Open, overdue, responded (awaiting closure) and unassigned open items, in one query."""
    now = now or timezone.now()
    open_ = Q(status=FeedbackStatus.OPEN)
    return feedback_item_visible_queryset(actor=actor).aggregate(
        open=Count("pk", filter=open_),
        overdue=Count("pk", filter=open_ & Q(respond_by__lt=now)),
        responded=Count("pk", filter=Q(status=FeedbackStatus.RESPONDED)),
        unassigned=Count("pk", filter=~Q(status=FeedbackStatus.CLOSED) & Q(owner__isnull=True)),
    )


def feedback_item_detail(*, item: FeedbackItem) -> FeedbackItem:
    return FeedbackItem.objects.select_related(
        "customer",
        "contact",
        "ticket",
        "survey_response__survey",
        "owner",
        "responded_by",
        "closed_by",
        "escalated_to",
    ).get(pk=item.pk)


def feedback_items_for_ticket(*, actor: Any, ticket: Any) -> list[FeedbackItem]:
    """The feedback items of ``ticket`` that ``actor`` may see, newest first (the ticket page
    lists them with feedback/partials/ticket_feedback.html)."""
    pk = getattr(ticket, "pk", ticket)
    return list(
        feedback_item_visible_queryset(actor=actor)
        .filter(ticket_id=pk)
        .select_related("owner")
        .order_by(*FEEDBACK_ITEM_ORDERING)
    )


def feedback_items_for_customer(
    *, actor: Any, customer: Customer, limit: int = 5
) -> list[FeedbackItem]:
    """The customer's items still to be answered or closed, for its page."""
    return list(
        feedback_item_visible_queryset(actor=actor)
        .filter(customer_id=customer.pk)
        .exclude(status=FeedbackStatus.CLOSED)
        .select_related("owner")
        .order_by(*FEEDBACK_ITEM_ORDERING)[:limit]
    )


# --- surveys ------------------------------------------------------------------------------------

SURVEY_ORDERING = ("-created_at", "-id")


def survey_visible_queryset(*, actor: Any) -> QuerySet[Survey]:
    """Surveys are shared: every signed-in user sees the list; the figures inside are scoped."""
    if not _active(actor):
        return Survey.objects.none()
    return Survey.objects.all()


def survey_list(*, actor: Any, status: str = "") -> QuerySet[Survey]:
    """Surveys with their invitations and responses counted within ``actor``'s scope (one
    subquery each, so neither multiplies the other)."""
    surveys = survey_visible_queryset(actor=actor)
    if status:
        surveys = surveys.filter(status=status)

    def counted(condition: Q) -> Subquery:
        rows = (
            SurveyInvitation.objects.filter(
                condition, customer_visible_q(actor, prefix="customer__"), survey=OuterRef("pk")
            )
            .order_by()
            .values("survey")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Subquery(rows, output_field=IntegerField())

    return surveys.annotate(
        invited_count=Coalesce(counted(Q()), 0),
        answered_count=Coalesce(counted(Q(answered_at__isnull=False)), 0),
    )


def survey_page(*, actor: Any, cursor: str | None = None, limit: int = 50, **filters: Any) -> Page:
    return keyset_paginate(
        survey_list(actor=actor, **filters), ordering=SURVEY_ORDERING, cursor=cursor, limit=limit
    )


def survey_questions(*, survey: Survey) -> list[SurveyQuestion]:
    return list(survey.questions.order_by("position", "id"))


def survey_question_rows(*, survey: Survey) -> list[dict[str, Any]]:
    """The questions as plain values: what an edit form starts from and the audit trail keeps."""
    return [
        {
            "text": question.text,
            "type": question.type,
            "dimension": question.dimension,
            "choices": list(question.choices or []),
            "required": question.required,
        }
        for question in survey_questions(survey=survey)
    ]


def survey_invitation_stats(
    *, actor: Any, survey: Survey, now: dt.datetime | None = None
) -> dict[str, int]:
    """Invitations of ``survey`` to customers in ``actor``'s scope: how many, e-mailed, answered,
    and expired unanswered."""
    now = now or timezone.now()
    unanswered = Q(answered_at__isnull=True)
    return SurveyInvitation.objects.filter(
        customer_visible_q(actor, prefix="customer__"), survey=survey
    ).aggregate(
        invited=Count("pk"),
        emailed=Count("pk", filter=Q(emailed_at__isnull=False)),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
        expired=Count("pk", filter=unanswered & Q(expires_at__lte=now)),
        waiting=Count("pk", filter=unanswered & Q(expires_at__gt=now)),
    )


# --- recipients ---------------------------------------------------------------------------------

RECIPIENTS_PRIMARY = "primary"
RECIPIENTS_ALL = "all"
RECIPIENT_MODES = (RECIPIENTS_PRIMARY, RECIPIENTS_ALL)
# The customer-list filters a segment keeps (customers.forms.CustomerFilterForm names them).
SEGMENT_FILTERS = ("lifecycle", "account_class", "industry", "region", "tag")

# Who answers for a customer when one contact is asked: the decision maker first.
_ROLE_RANK = Case(
    When(decision_role=Contact.DecisionRole.DECISION_MAKER, then=Value(0)),
    When(decision_role=Contact.DecisionRole.INFLUENCER, then=Value(1)),
    When(decision_role=Contact.DecisionRole.USER, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def contact_reachable_q(prefix: str = "") -> Q:
    """A contact we can send a link to: an e-mail address or a phone number."""
    return ~Q(**{f"{prefix}email": ""}) | ~Q(**{f"{prefix}phones": []})


def contact_surveyable_q(prefix: str = "") -> Q:
    """A contact a survey may go to: reachable, and not opted out of surveys and marketing
    (Contact.marketing_opt_out). Kept apart from reachability: a ticket's confirmation link
    is service, not marketing, and still goes to someone who opted out."""
    return contact_reachable_q(prefix) & Q(**{f"{prefix}marketing_opt_out": False})


def segment_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The segment's part of customer_list's keyword arguments (unset ones left out)."""
    return {name: filters[name] for name in SEGMENT_FILTERS if filters.get(name) not in ("", None)}


def survey_recipients(
    *, actor: Any, filters: Mapping[str, Any], mode: str = RECIPIENTS_PRIMARY
) -> QuerySet[Contact]:
    """The contacts a send to the segment ``filters`` reaches: the customers ``actor``'s own
    customer list shows with those filters (customers.selectors.customer_list: data scope, the
    history library left out), and of each customer either its first reachable contact (the
    decision maker, then influencer, end user, others; the earliest filed first) or every
    reachable contact. Contacts who opted out of surveys and marketing are never among them: the
    first is then the next reachable contact of the customer."""
    customers = customer_list(actor=actor, **segment_filters(filters))
    contacts = Contact.objects.filter(
        customer__in=customers.values("pk"), customer__deleted_at__isnull=True
    ).filter(contact_surveyable_q())
    if mode == RECIPIENTS_ALL:
        return contacts
    ranked = contacts.annotate(
        rank=Window(
            RowNumber(), partition_by=[F("customer_id")], order_by=[_ROLE_RANK.asc(), F("id").asc()]
        )
    ).filter(rank=1)
    return Contact.objects.filter(pk__in=ranked.values("pk"))


@dataclass(frozen=True)
class SendPreview:
    customers: int  # in the segment
    contacts: int  # reached by the send
    already_invited: int  # of those, invited to this survey before (skipped)
    new: int  # invitations the send makes
    by_email: int  # of those, e-mailed (when e-mail is chosen and works)


def survey_send_preview(
    *,
    actor: Any,
    survey: Survey,
    filters: Mapping[str, Any],
    mode: str = RECIPIENTS_PRIMARY,
    email: bool = True,
) -> SendPreview:
    contacts = survey_recipients(actor=actor, filters=filters, mode=mode)
    invited = SurveyInvitation.objects.filter(survey=survey).values("contact_id")
    figures = contacts.aggregate(
        total=Count("pk"),
        invited=Count("pk", filter=Q(pk__in=invited)),
        email=Count("pk", filter=~Q(pk__in=invited) & ~Q(email="")),
    )
    segment = customer_list(actor=actor, **segment_filters(filters)).count()
    return SendPreview(
        customers=segment,
        contacts=figures["total"],
        already_invited=figures["invited"],
        new=figures["total"] - figures["invited"],
        by_email=figures["email"] if email else 0,
    )


# --- the public link ----------------------------------------------------------------------------

TOKEN_MAX_LENGTH = 100


def survey_invitation_for_token(
    *, token: str, now: dt.datetime | None = None
) -> SurveyInvitation | None:
    """The invitation ``token`` opens, or None: unknown, expired, the survey closed, deleted or
    not sent, or the customer deleted. The caller shows all of those alike."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    now = now or timezone.now()
    return (
        SurveyInvitation.objects.select_related("survey", "customer")
        .filter(
            token_hash=token_hash(token),
            expires_at__gt=now,
            survey__status=SurveyStatus.SENDING,
            survey__deleted_at__isnull=True,
            customer__deleted_at__isnull=True,
        )
        .first()
    )


# --- responses ----------------------------------------------------------------------------------

RESPONSE_ORDERING = ("-answered_at", "-id")


def survey_response_page(
    *, actor: Any, survey: Survey, cursor: str | None = None, limit: int = 50
) -> Page:
    """The answers to ``survey`` of customers in ``actor``'s scope, newest first."""
    responses = (
        SurveyResponse.objects.filter(
            customer_visible_q(actor, prefix="customer__"),
            survey=survey,
            customer__deleted_at__isnull=True,
        )
        .select_related("customer", "contact")
        .prefetch_related(
            Prefetch(
                "answers",
                queryset=SurveyAnswer.objects.select_related("question").order_by(
                    "question__position", "question_id"
                ),
            )
        )
    )
    return keyset_paginate(responses, ordering=RESPONSE_ORDERING, cursor=cursor, limit=limit)


# --- analysis -----------------------------------------------------------------------------------

PROMOTER_MIN = 9  # NPS: 9–10 promote, 7–8 are passive, 0–6 detract
DETRACTOR_MAX = 6


@dataclass
class Figures:
    """CSAT (1–5 score answers) and NPS (0–10 answers) of one group."""

    key: Any = None
    label: str = ""
    csat_count: int = 0
    csat_average: float | None = None
    nps_count: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def nps(self) -> int | None:
        """Promoters minus detractors, in per cent of the NPS answers (−100 to 100)."""
        if not self.nps_count:
            return None
        return round(100 * (self.promoters - self.detractors) / self.nps_count)


@dataclass
class TicketFigures:
    key: Any
    label: str
    count: int
    average: float | None
    low: int  # scores of 1 or 2


@dataclass
class Analysis:
    overall: Figures
    csat_distribution: list[tuple[int, int]]  # (score 1–5, answers)
    nps_distribution: list[tuple[int, int]]  # (score 0–10, answers)
    dimensions: list[Figures]
    regions: list[Figures]
    account_classes: list[Figures]
    months: list[Figures]
    tickets_by_category: list[TicketFigures] = field(default_factory=list)
    tickets_by_month: list[TicketFigures] = field(default_factory=list)
    responses: int = 0


def _figures() -> dict[str, Any]:
    score = Q(question__type=QuestionType.SCORE, score__isnull=False)
    nps = Q(question__type=QuestionType.NPS, score__isnull=False)
    return {
        "csat_count": Count("pk", filter=score),
        "csat_average": Avg("score", filter=score),
        "nps_count": Count("pk", filter=nps),
        "promoters": Count("pk", filter=nps & Q(score__gte=PROMOTER_MIN)),
        "detractors": Count("pk", filter=nps & Q(score__lte=DETRACTOR_MAX)),
    }


def _row_figures(row: Mapping[str, Any], *, key: Any, label: str) -> Figures:
    average = row.get("csat_average")
    return Figures(
        key=key,
        label=label,
        csat_count=row["csat_count"],
        csat_average=round(float(average), 2) if average is not None else None,
        nps_count=row["nps_count"],
        promoters=row["promoters"],
        detractors=row["detractors"],
    )


def _month_bounds(
    date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=zone) if date_from else None
    end = (
        dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        if date_to
        else None
    )
    return start, end


def survey_answers_in_scope(
    *,
    actor: Any,
    survey: Survey | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[SurveyAnswer]:
    """Answers of live surveys by customers ``actor`` may see, optionally of one survey and
    answered between two local dates (inclusive)."""
    if not _active(actor):
        return SurveyAnswer.objects.none()
    answers = SurveyAnswer.objects.filter(
        customer_visible_q(actor, prefix="response__customer__"),
        response__survey__deleted_at__isnull=True,
        response__customer__deleted_at__isnull=True,
    )
    if survey is not None:
        answers = answers.filter(response__survey=survey)
    start, end = _month_bounds(date_from, date_to)
    if start:
        answers = answers.filter(response__answered_at__gte=start)
    if end:
        answers = answers.filter(response__answered_at__lt=end)
    return answers


def survey_analysis(
    *,
    actor: Any,
    survey: Survey | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    include_tickets: bool | None = None,
) -> Analysis:
    """CSAT and NPS overall, their distributions, and per dimension, customer province,
    key-account class and month, each one grouped query over the answers in scope. Across
    surveys (``survey`` None) it adds the tickets' satisfaction scores per category and month
    (tickets ``actor`` may see)."""
    filter_dates_check(date_from=date_from, date_to=date_to)
    answers = survey_answers_in_scope(
        actor=actor, survey=survey, date_from=date_from, date_to=date_to
    )
    figures = _figures()
    totals = answers.aggregate(**figures, responses=Count("response", distinct=True))
    overall = _row_figures(totals, key=None, label="")

    scored = answers.filter(score__isnull=False)
    csat = dict(
        scored.filter(question__type=QuestionType.SCORE)
        .order_by()
        .values_list("score")
        .annotate(n=Count("pk"))
    )
    nps = dict(
        scored.filter(question__type=QuestionType.NPS)
        .order_by()
        .values_list("score")
        .annotate(n=Count("pk"))
    )

    dimension_labels = dict(Dimension.choices)
    dimension_rows = {
        row["question__dimension"]: row
        for row in answers.order_by().values("question__dimension").annotate(**figures)
    }
    dimensions = [
        _row_figures(dimension_rows[key], key=key, label=str(label))
        for key, label in dimension_labels.items()
        if key in dimension_rows
        and (dimension_rows[key]["csat_count"] or dimension_rows[key]["nps_count"])
    ]

    regions = [
        _row_figures(row, key=row["code"], label=row["name"] or "")
        for row in answers.order_by()
        .values(
            code=F("response__customer__province_id"),
            name=F("response__customer__province__name"),
        )
        .annotate(**figures)
        .order_by("code")
        if row["csat_count"] or row["nps_count"]
    ]

    class_labels = dict(Customer.AccountClass.choices)
    account_classes = [
        _row_figures(row, key=row["klass"], label=str(class_labels.get(row["klass"], "")))
        for row in answers.order_by()
        .values(klass=F("response__customer__account_class"))
        .annotate(**figures)
        .order_by("klass")
        if row["csat_count"] or row["nps_count"]
    ]

    zone = ZoneInfo(settings.TIME_ZONE)
    months = [
        _row_figures(row, key=row["month"], label=_month_label(row["month"]))
        for row in answers.order_by()
        .annotate(month=TruncMonth("response__answered_at", tzinfo=zone))
        .values("month")
        .annotate(**figures)
        .order_by("month")
        if row["csat_count"] or row["nps_count"]
    ]

    analysis = Analysis(
        overall=overall,
        csat_distribution=[(score, csat.get(score, 0)) for score in range(1, 6)],
        nps_distribution=[(score, nps.get(score, 0)) for score in range(0, 11)],
        dimensions=dimensions,
        regions=regions,
        account_classes=account_classes,
        months=months,
        responses=totals["responses"],
    )
    if include_tickets if include_tickets is not None else survey is None:
        analysis.tickets_by_category, analysis.tickets_by_month = ticket_satisfaction(
            actor=actor, date_from=date_from, date_to=date_to
        )
    return analysis


def _month_label(month: Any) -> str:
    if month is None:
        return ""
    if isinstance(month, dt.datetime):
        month = timezone.localtime(month, ZoneInfo(settings.TIME_ZONE))
    return f"{month.year:04d}-{month.month:02d}"


def ticket_satisfaction(
    *,
    actor: Any,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> tuple[list[TicketFigures], list[TicketFigures]]:
    """The satisfaction scores (1–5) customers gave on tickets ``actor`` may see, per ticket
    category and per month of the confirmation (or resolution, where no confirmation time was
    kept)."""
    if not _active(actor):
        return [], []
    when = Coalesce("confirmed_at", "resolved_at", "created_at")
    tickets = Ticket.objects.filter(
        ticket_visible_q(actor), satisfaction__isnull=False, customer__deleted_at__isnull=True
    ).annotate(rated_at=when)
    start, end = _month_bounds(date_from, date_to)
    if start:
        tickets = tickets.filter(rated_at__gte=start)
    if end:
        tickets = tickets.filter(rated_at__lt=end)
    aggregates = {
        "count": Count("pk"),
        "average": Avg("satisfaction"),
        "low": Count("pk", filter=Q(satisfaction__lte=2)),
    }

    def figures(row: Mapping[str, Any], key: Any, label: str) -> TicketFigures:
        average = row["average"]
        return TicketFigures(
            key=key,
            label=label,
            count=row["count"],
            average=round(float(average), 2) if average is not None else None,
            low=row["low"],
        )

    categories = [
        figures(row, row["category_id"], row["category__name"])
        for row in tickets.order_by()
        .values("category_id", "category__name", "category__position")
        .annotate(**aggregates)
        .order_by("category__position", "category_id")
    ]
    zone = ZoneInfo(settings.TIME_ZONE)
    months = [
        figures(row, row["month"], _month_label(row["month"]))
        for row in tickets.order_by()
        .annotate(month=TruncMonth("rated_at", tzinfo=zone))
        .values("month")
        .annotate(**aggregates)
        .order_by("month")
    ]
    return categories, months
