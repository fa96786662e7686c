"""Reads of quality review: what a reviewer may review, who sees which reviews, the sample's
candidates, the queues and lists, the item summary beside the sheet, and the figures.

Who reviews (DESIGN.md C12): administrators anything; the lead of a service team the finished
tickets of that team; a sales manager the interactions logged by the people of their data scope.
Nobody reviews their own work, and a reviewer reviews only what they can already see (the
tickets through service.selectors.ticket_visible_q, the interactions through their customer).

Who sees a review: its agent, its reviewer and the reviewer's manager (who settles disputes),
administrators, the lead of the agent's team, and a sales manager the interaction reviews of
their scope. The figures follow the same scope without the reviewer's side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Avg,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import Cast, Coalesce
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Department, User
from guanxi.accounts.roles import Role
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.core.scope import scope_q
from guanxi.engagement.models import Interaction
from guanxi.engagement.selectors import (
    filter_dates_check,
    interaction_visible_queryset,
    local_day_bounds,
)
from guanxi.service.models import ServiceTeam, Ticket, TicketStatus
from guanxi.service.quality.models import (
    ItemKind,
    Review,
    ReviewAssignment,
    ReviewScore,
    ScoreCriterion,
    ScoreSheet,
)
from guanxi.service.selectors import ticket_visible_q

FINISHED_TICKET_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CONFIRMED, TicketStatus.CLOSED)
"""A ticket is reviewed once its work is done: resolved, confirmed by the customer, or closed."""

REVIEW_ORDERING = ("-created_at", "-id")
FIGURES_PERIOD_MAX_DAYS = 366
ASSIGNMENT_ORDERING = ("item_at", "id")


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _is_admin(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


# --- reviewers ----------------------------------------------------------------------------------


def quality_led_team_ids(actor: Any) -> list[int]:
    """The live service teams ``actor`` leads."""
    if not _active(actor):
        return []
    return list(ServiceTeam.objects.filter(lead_id=actor.pk).values_list("pk", flat=True))


def quality_reviews_kind(actor: Any, kind: str) -> bool:
    """May ``actor`` review items of ``kind`` at all (before looking at a particular one)?"""
    if not _active(actor):
        return False
    if actor.role == Role.ADMINISTRATOR:
        return True
    if kind == ItemKind.TICKET:
        return bool(quality_led_team_ids(actor))
    if kind == ItemKind.INTERACTION:
        return actor.role == Role.SALES_MANAGER
    return False


def quality_is_reviewer(actor: Any) -> bool:
    return any(quality_reviews_kind(actor, kind) for kind in ItemKind.values)


def ticket_finished_at() -> Coalesce:
    return Coalesce("resolved_at", "closed_at")


def quality_reviewable_tickets(*, actor: Any) -> QuerySet[Ticket]:
    """Finished tickets with an assignee other than ``actor`` that ``actor`` sees and may review:
    every one for administrators, their teams' for team leads."""
    if not quality_reviews_kind(actor, ItemKind.TICKET):
        return Ticket.objects.none()
    rows = (
        Ticket.objects.filter(
            ticket_visible_q(actor),
            status__in=FINISHED_TICKET_STATUSES,
            assignee__isnull=False,
            customer__deleted_at__isnull=True,
        )
        .exclude(assignee_id=actor.pk)
        .annotate(finished_at=ticket_finished_at())
        .filter(finished_at__isnull=False)
    )
    if actor.role != Role.ADMINISTRATOR:
        rows = rows.filter(team_id__in=quality_led_team_ids(actor))
    return rows


def quality_reviewable_interactions(*, actor: Any) -> QuerySet[Interaction]:
    """Interactions logged by someone other than ``actor`` that ``actor`` sees and may review:
    every one for administrators; for a sales manager those logged by the people of their data
    scope (their department and below)."""
    if not quality_reviews_kind(actor, ItemKind.INTERACTION):
        return Interaction.objects.none()
    rows = interaction_visible_queryset(actor=actor).filter(created_by__isnull=False)
    rows = rows.exclude(created_by_id=actor.pk)
    if actor.role != Role.ADMINISTRATOR:
        rows = rows.filter(
            scope_q(actor, owner_field="created_by", department_field="created_by__department")
        )
    return rows


def quality_item_reviewable(*, actor: Any, item: Any) -> bool:
    if isinstance(item, Ticket):
        return quality_reviewable_tickets(actor=actor).filter(pk=item.pk).exists()
    if isinstance(item, Interaction):
        return quality_reviewable_interactions(actor=actor).filter(pk=item.pk).exists()
    return False


# --- sheets -------------------------------------------------------------------------------------


def quality_sheet_list(*, applies_to: str = "", active_only: bool = False) -> list[ScoreSheet]:
    sheets = ScoreSheet.objects.prefetch_related(
        Prefetch("criteria", queryset=ScoreCriterion.objects.order_by("position", "id"))
    ).annotate(review_count=Count("reviews", distinct=True))
    if applies_to:
        sheets = sheets.filter(applies_to=applies_to)
    if active_only:
        sheets = sheets.filter(active=True)
    return list(sheets.order_by("applies_to", "name", "id"))


def quality_sheet_criteria(sheet: ScoreSheet) -> list[ScoreCriterion]:
    """The live criteria of ``sheet`` in their order."""
    return list(ScoreCriterion.objects.filter(sheet=sheet).order_by("position", "id"))


def quality_sheets_for_reviewer(*, actor: Any, kind: str = "") -> list[ScoreSheet]:
    """The active sheets ``actor`` may review with (of ``kind``)."""
    return [
        sheet
        for sheet in quality_sheet_list(applies_to=kind, active_only=True)
        if quality_reviews_kind(actor, sheet.applies_to)
    ]


# --- sampling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    item_id: int
    agent_id: int
    item_at: dt.datetime


def quality_sample_candidates(
    *, actor: Any, sheet: ScoreSheet, period_start: dt.date, period_end: dt.date
) -> list[Candidate]:
    """What a draw on ``sheet`` may pick: the items ``actor`` may review that were finished from
    ``period_start`` to ``period_end`` (local days), not yet reviewed with the sheet nor drawn for
    it. Ordered by agent and id, so that a seeded draw picks the same ones every time."""
    filter_dates_check(period_start=period_start, period_end=period_end)
    start, end = local_day_bounds(period_start, period_end)
    drawn = ReviewAssignment.objects.filter(
        sheet=sheet,
        status__in=[ReviewAssignment.Status.OPEN, ReviewAssignment.Status.DONE],
    )
    reviewed = Review.all_objects.filter(sheet=sheet)
    if sheet.applies_to == ItemKind.TICKET:
        rows = (
            quality_reviewable_tickets(actor=actor)
            .filter(finished_at__gte=start, finished_at__lt=end)
            .exclude(pk__in=drawn.filter(ticket__isnull=False).values("ticket_id"))
            .exclude(pk__in=reviewed.filter(ticket__isnull=False).values("ticket_id"))
            .values_list("pk", "assignee_id", "finished_at")
        )
    else:
        rows = (
            quality_reviewable_interactions(actor=actor)
            .filter(occurred_at__gte=start, occurred_at__lt=end)
            .exclude(pk__in=drawn.filter(interaction__isnull=False).values("interaction_id"))
            .exclude(pk__in=reviewed.filter(interaction__isnull=False).values("interaction_id"))
            .values_list("pk", "created_by_id", "occurred_at")
        )
    return [
        Candidate(item_id=pk, agent_id=agent_id, item_at=at)
        for pk, agent_id, at in rows.order_by()
        if agent_id is not None
    ]


# --- assignments --------------------------------------------------------------------------------


def quality_assignment_list(
    *, actor: Any, status: str = ReviewAssignment.Status.OPEN
) -> QuerySet[ReviewAssignment]:
    """``actor``'s review queue (待质检): what was drawn for them, oldest work first."""
    if not _active(actor):
        return ReviewAssignment.objects.none()
    rows = ReviewAssignment.objects.filter(reviewer_id=actor.pk)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related(
        "sheet", "agent", "ticket", "ticket__customer", "interaction", "interaction__customer"
    )


def quality_assignment_page(
    *,
    actor: Any,
    status: str = ReviewAssignment.Status.OPEN,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    rows = quality_assignment_list(actor=actor, status=status)
    return keyset_paginate(rows, ordering=ASSIGNMENT_ORDERING, cursor=cursor, limit=limit)


# --- reviews ------------------------------------------------------------------------------------


def _team_member_ids(team_ids: list[int]) -> QuerySet[Any]:
    return ServiceTeam.members.through.objects.filter(serviceteam_id__in=team_ids).values("user_id")


def quality_figures_q(actor: Any) -> Q:
    """The reviews whose figures ``actor`` sees: everything for administrators; their own; the
    reviews of their teams' agents for a team lead; the interaction reviews of their data scope
    for a sales manager."""
    if not _active(actor):
        return Q(pk__in=[])
    if actor.role == Role.ADMINISTRATOR:
        return Q()
    visible = Q(agent_id=actor.pk)
    teams = quality_led_team_ids(actor)
    if teams:
        visible |= Q(team_id__in=teams) | Q(agent_id__in=_team_member_ids(teams))
    if actor.role == Role.SALES_MANAGER:
        scoped = scope_q(actor, owner_field="agent", department_field="department")
        visible |= Q(kind=ItemKind.INTERACTION) & scoped
    return visible


def quality_review_visible_q(actor: Any) -> Q:
    """The reviews ``actor`` may open: the figures' scope, the reviews they gave, and those given
    by the people they manage (User.manager), whose disputes they settle."""
    if not _active(actor):
        return Q(pk__in=[])
    if actor.role == Role.ADMINISTRATOR:
        return Q()
    return quality_figures_q(actor) | Q(reviewer_id=actor.pk) | Q(reviewer__manager_id=actor.pk)


def quality_review_visible_queryset(*, actor: Any) -> QuerySet[Review]:
    if not _active(actor):
        return Review.objects.none()
    return Review.objects.filter(quality_review_visible_q(actor))


REVIEW_VIEWS = ("all", "mine", "given", "disputed")


def quality_review_list(
    *,
    actor: Any,
    view: str = "all",
    status: str = "",
    sheet: int | None = None,
    agent: int | None = None,
    passed: bool | None = None,
) -> QuerySet[Review]:
    """Reviews ``actor`` may open. ``view``: ``all``; ``mine`` (of ``actor``'s own work);
    ``given`` (by ``actor``); ``disputed`` (waiting for someone to settle)."""
    rows = quality_review_visible_queryset(actor=actor)
    if view == "mine":
        rows = rows.filter(agent_id=actor.pk)
    elif view == "given":
        rows = rows.filter(reviewer_id=actor.pk)
    elif view == "disputed":
        rows = rows.filter(status=Review.Status.DISPUTED)
    if status:
        rows = rows.filter(status=status)
    if sheet is not None:
        rows = rows.filter(sheet_id=sheet)
    if agent is not None:
        rows = rows.filter(agent_id=agent)
    if passed is not None:
        rows = rows.filter(passed=passed)
    return rows


def quality_review_page(
    *, actor: Any, cursor: str | None = None, limit: int = 50, **filters: Any
) -> Page:
    rows = (
        quality_review_list(actor=actor, **filters)
        .select_related(
            "sheet", "agent", "reviewer", "ticket", "interaction", "interaction__customer"
        )
        .prefetch_related(
            Prefetch("scores", queryset=ReviewScore.objects.order_by("position", "id"))
        )
    )
    return keyset_paginate(rows, ordering=REVIEW_ORDERING, cursor=cursor, limit=limit)


def quality_review_detail(*, review: Review) -> Review:
    return (
        Review.objects.select_related(
            "sheet",
            "agent",
            "reviewer",
            "resolved_by",
            "team",
            "ticket",
            "interaction",
            "interaction__customer",
        )
        .prefetch_related(
            Prefetch("scores", queryset=ReviewScore.objects.order_by("position", "id"))
        )
        .get(pk=review.pk)
    )


# --- the item beside the sheet ------------------------------------------------------------------


@dataclass
class ItemSummary:
    """What a reviewer reads beside the sheet: for a ticket its number, subject, description and
    resolution; for an interaction its channel, time and content. Contacts by name only: their
    phones, e-mail and WeChat ID stay on the customer's page, masked as there. ``visible`` is
    False when the reader can no longer open the item (it moved out of their scope): only its
    label is shown then."""

    kind: str
    item_id: int
    label: str
    visible: bool
    customer_name: str = ""
    fields: list[tuple[Any, Any]] = field(default_factory=list)
    text_label: Any = ""
    text: str = ""
    second_label: Any = ""
    second_text: str = ""
    url: str | None = None  # the item's own page, set by the view that knows the URLs


def quality_item_label(
    *, ticket: Ticket | None = None, interaction: Interaction | None = None
) -> str:
    if ticket is not None:
        return f"{ticket.number} {ticket.subject}"
    if interaction is not None:
        return (
            f"{interaction.get_channel_display()} · {localtime(interaction.occurred_at):%Y-%m-%d}"
        )
    return ""


def quality_item_summary(
    *, actor: Any, ticket: Ticket | None = None, interaction: Interaction | None = None
) -> ItemSummary:
    if ticket is not None:
        visible = Ticket.objects.filter(ticket_visible_q(actor), pk=ticket.pk).exists()
        summary = ItemSummary(
            kind=ItemKind.TICKET,
            item_id=ticket.pk,
            # Out of the reader's view the subject is not theirs to read: the number only.
            label=quality_item_label(ticket=ticket) if visible else ticket.number,
            visible=visible,
        )
        if not visible:
            return summary
        loaded = Ticket.objects.select_related("customer", "contact", "category", "assignee").get(
            pk=ticket.pk
        )
        finished = loaded.resolved_at or loaded.closed_at
        summary.customer_name = loaded.customer.name
        summary.fields = [
            (_("Number"), loaded.number),
            (_("Subject"), loaded.subject),
            (_("Category"), str(loaded.category)),
            (_("Channel"), loaded.get_channel_display()),
            (_("Status"), loaded.get_status_display()),
            (_("Contact"), loaded.contact.name if loaded.contact else "—"),
            (_("Assignee"), loaded.assignee.get_full_name() if loaded.assignee else "—"),
            (
                _("Finished at"),
                date_format(localtime(finished), "SHORT_DATETIME_FORMAT") if finished else "—",
            ),
        ]
        summary.text_label = _("Description")
        summary.text = loaded.description
        summary.second_label = _("Resolution")
        summary.second_text = loaded.resolution
        return summary
    assert interaction is not None
    visible = interaction_visible_queryset(actor=actor).filter(pk=interaction.pk).exists()
    summary = ItemSummary(
        kind=ItemKind.INTERACTION,
        item_id=interaction.pk,
        label=quality_item_label(interaction=interaction),
        visible=visible,
    )
    if not visible:
        return summary
    loaded = (
        Interaction.objects.select_related("customer", "created_by")
        .prefetch_related("contacts")
        .get(pk=interaction.pk)
    )
    summary.customer_name = loaded.customer.name
    summary.fields = [
        (_("Channel"), loaded.get_channel_display()),
        (_("Purpose"), loaded.get_kind_display()),
        (_("Time"), date_format(localtime(loaded.occurred_at), "SHORT_DATETIME_FORMAT")),
        (
            _("Contacts present"),
            ", ".join(contact.name for contact in loaded.contacts.all()) or "—",
        ),
        (_("Logged by"), loaded.created_by.get_full_name() if loaded.created_by else "—"),
    ]
    summary.text_label = _("Content")
    summary.text = loaded.content
    summary.second_label = _("Customer's reaction")
    summary.second_text = "\n".join(
        part
        for part in (loaded.get_reaction_display() if loaded.reaction else "", loaded.reaction_note)
        if part
    )
    return summary


# --- figures ------------------------------------------------------------------------------------


@dataclass
class FigureRow:
    key: Any
    label: str
    reviews: int = 0
    passed: int = 0
    average: float | None = None  # mean percentage of the reviews
    user: User | None = None
    department: Department | None = None
    team: ServiceTeam | None = None

    @property
    def pass_rate(self) -> float | None:
        return round(100 * self.passed / self.reviews, 1) if self.reviews else None


@dataclass
class CriterionRow:
    criterion_id: int
    label: str
    sheet_name: str
    scored: int
    average: float | None  # mean share of the maximum, in per cent
    full: int  # scored full points
    critical: bool
    critical_failed: int


@dataclass
class QualityFigures:
    period_start: dt.date
    period_end: dt.date
    total: FigureRow
    people: list[FigureRow] = field(default_factory=list)
    teams: list[FigureRow] = field(default_factory=list)
    criteria: list[CriterionRow] = field(default_factory=list)


def _average(value: Any) -> float | None:
    if value is None:
        return None
    return round(float(Decimal(str(value))), 1)


def quality_figures(
    *,
    actor: Any,
    period_start: dt.date,
    period_end: dt.date,
    kind: str = "",
    sheet: int | None = None,
) -> QualityFigures:
    """Average score (the mean of the reviews' percentages) and pass rate per agent, per team and
    overall, and the mean share of the maximum per criterion, of the reviews of work finished
    from ``period_start`` to ``period_end`` in ``actor``'s scope (quality_figures_q). A ticket
    review counts for the ticket's service team; an interaction review for the agent's
    department. Grouped in the database: one query per table."""
    filter_dates_check(period_start=period_start, period_end=period_end)
    if period_start > period_end or (period_end - period_start).days > FIGURES_PERIOD_MAX_DAYS:
        raise ValidationError(
            {"date_from": [_("Choose a period of at most a year, its start before its end.")]}
        )
    start, end = local_day_bounds(period_start, period_end)
    figures = QualityFigures(
        period_start=period_start, period_end=period_end, total=FigureRow(None, "")
    )
    if not _active(actor):
        return figures
    reviews = Review.objects.filter(quality_figures_q(actor), item_at__gte=start, item_at__lt=end)
    if kind:
        reviews = reviews.filter(kind=kind)
    if sheet is not None:
        reviews = reviews.filter(sheet_id=sheet)
    measures = {
        "reviews": Count("pk"),
        "passed": Count("pk", filter=Q(passed=True)),
        "average": Avg(Cast("percent", FloatField())),
    }
    total = reviews.aggregate(**measures)
    figures.total = FigureRow(
        None,
        "",
        reviews=total["reviews"],
        passed=total["passed"],
        average=_average(total["average"]),
    )
    people = list(reviews.values("agent").annotate(**measures).order_by())
    users = User.objects.select_related("department").in_bulk({row["agent"] for row in people})
    for row in people:
        user = users.get(row["agent"])
        figures.people.append(
            FigureRow(
                row["agent"],
                user.get_full_name() if user else "",
                reviews=row["reviews"],
                passed=row["passed"],
                average=_average(row["average"]),
                user=user,
                department=user.department if user else None,
            )
        )
    figures.people.sort(key=lambda row: (-(row.average or 0), row.label))
    groups = list(reviews.values("team", "department").annotate(**measures).order_by())
    teams = ServiceTeam.all_objects.select_related("department").in_bulk(
        {row["team"] for row in groups if row["team"]}
    )
    departments = Department.all_objects.in_bulk(
        {row["department"] for row in groups if row["department"] and not row["team"]}
    )
    merged: dict[tuple[str, Any], FigureRow] = {}
    weighted: dict[tuple[str, Any], float] = {}
    for row in groups:
        if row["team"]:
            key: tuple[str, Any] = ("team", row["team"])
            team = teams.get(row["team"])
            label = str(team) if team else ""
            extra: dict[str, Any] = {"team": team}
        else:
            key = ("department", row["department"])
            department = departments.get(row["department"])
            label = department.name if department else ""
            extra = {"department": department}
        found = merged.setdefault(key, FigureRow(key, label, **extra))
        found.reviews += row["reviews"]
        found.passed += row["passed"]
        # Rows of one group split by the other column: combine their means by their counts.
        weighted[key] = weighted.get(key, 0.0) + float(row["average"] or 0) * row["reviews"]
    for key, found in merged.items():
        found.average = round(weighted[key] / found.reviews, 1) if found.reviews else None
    figures.teams = sorted(merged.values(), key=lambda row: (row.key[0] != "team", row.label))
    share = ExpressionWrapper(
        Cast("points", FloatField()) * 100.0 / Cast("max_points", FloatField()),
        output_field=FloatField(),
    )
    criteria = list(
        ReviewScore.objects.filter(review__in=reviews.values("pk"))
        .values("criterion")
        .annotate(
            scored=Count("pk"),
            average=Avg(share),
            full=Count("pk", filter=Q(points=F("max_points"))),
            critical_failed=Count("pk", filter=Q(critical=True, points__lt=F("max_points"))),
            critical_count=Count("pk", filter=Q(critical=True)),
        )
        .order_by()
    )
    known = ScoreCriterion.all_objects.select_related("sheet").in_bulk(
        {row["criterion"] for row in criteria}
    )
    for row in criteria:
        criterion = known.get(row["criterion"])
        figures.criteria.append(
            CriterionRow(
                criterion_id=row["criterion"],
                label=criterion.name if criterion else "",
                sheet_name=criterion.sheet.name if criterion else "",
                scored=row["scored"],
                average=_average(row["average"]),
                full=row["full"],
                critical=bool(row["critical_count"]),
                critical_failed=row["critical_failed"],
            )
        )
    figures.criteria.sort(
        key=lambda row: (
            row.sheet_name,
            known[row.criterion_id].position if row.criterion_id in known else 0,
            row.criterion_id,
        )
    )
    return figures
