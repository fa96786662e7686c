"""Reads of the service desk. Every ticket read filters with ``ticket_visible_q``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils import timezone

from guanxi.accounts.roles import Role
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.core.scope import scope_q
from guanxi.service.models import (
    OPEN_STATUSES,
    ServiceTeam,
    Ticket,
    TicketAttachment,
    TicketComment,
    TicketStatus,
    TicketTransition,
)

if TYPE_CHECKING:
    from guanxi.accounts.models import User


SERVICE_DESK_ROLES = frozenset({Role.ADMINISTRATOR, Role.SERVICE_AGENT})
"""Roles that open tickets for any customer and see and work every ticket."""


def _is_active_user(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def ticket_visible_q(actor: Any, *, prefix: str = "") -> Q:
    """Tickets ``actor`` may see: all for the service desk (agents and administrators); for
    everyone else the data scope over the handling side (assignee as owner, the
    routed department as department), tickets they opened, and the tickets of customers in
    their scope (a rep follows their customers' complaints; pool customers excluded, their
    tickets are the service desk's). ``prefix`` scopes a related model through its ticket."""
    if not _is_active_user(actor):
        return Q(pk__in=[])
    if actor.role in SERVICE_DESK_ROLES:
        return Q()  # the desk takes, routes and follows every ticket
    handling = scope_q(
        actor, owner_field=f"{prefix}assignee", department_field=f"{prefix}department"
    )
    if not handling:
        return Q()  # scope "all": an empty Q is everything
    customers = scope_q(
        actor,
        owner_field=f"{prefix}customer__owner",
        department_field=f"{prefix}customer__department",
    )
    # A team may take members from other departments: they see its tickets too.
    teams = ServiceTeam.objects.filter(Q(members=actor.pk) | Q(lead=actor.pk)).values("pk")
    return (
        handling
        | customers
        | Q(**{f"{prefix}created_by": actor.pk})
        | Q(**{f"{prefix}team__in": teams})
    )


def ticket_visible_queryset(*, actor: Any) -> QuerySet[Ticket]:
    """Visible tickets of live customers: a customer in the recycle bin takes its tickets along
    until it is restored."""
    if not _is_active_user(actor):
        return Ticket.objects.none()
    return Ticket.objects.filter(ticket_visible_q(actor), customer__deleted_at__isnull=True)


# --- lists --------------------------------------------------------------------------------------

TICKET_ORDERING = ("-created_at", "-id")
TICKET_VIEWS = ("", "mine", "team", "unassigned", "breached", "open")


def _running_statuses() -> list[str]:
    return [status for status in OPEN_STATUSES if status != TicketStatus.WAITING]


def ticket_breached_q(*, now: dt.datetime) -> Q:
    """Missed a deadline: flagged by the scheduler, or past due and not yet seen by it."""
    return (
        Q(response_breached_at__isnull=False)
        | Q(resolution_breached_at__isnull=False)
        | Q(status__in=_running_statuses(), resolution_due_at__lt=now)
        | Q(
            status__in=_running_statuses(),
            first_response_at__isnull=True,
            response_due_at__lt=now,
        )
    )


def ticket_list(
    *,
    actor: Any,
    view: str = "",
    status: str = "",
    category: Any = None,
    priority: str = "",
    team: Any = None,
    customer: Any = None,
    query: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Ticket]:
    """Tickets ``actor`` may see, filtered. ``query`` matches the number exactly or as a prefix,
    or the subject, or the customer's name."""
    now = now or timezone.now()
    rows = ticket_visible_queryset(actor=actor)
    if view == "mine":
        rows = rows.filter(assignee=actor.pk)
    elif view == "team":
        rows = rows.filter(
            Q(team__members=actor.pk) | Q(team__lead=actor.pk), status__in=OPEN_STATUSES
        ).distinct()
    elif view == "unassigned":
        rows = rows.filter(assignee__isnull=True, status__in=OPEN_STATUSES)
    elif view == "breached":
        rows = rows.filter(ticket_breached_q(now=now), status__in=OPEN_STATUSES)
    elif view == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    if status:
        rows = rows.filter(status=status)
    if category:
        rows = rows.filter(category=category)
    if priority:
        rows = rows.filter(priority=priority)
    if team:
        rows = rows.filter(team=team)
    if customer:
        rows = rows.filter(customer=customer)
    query = (query or "").strip()[:100]
    if query:
        rows = rows.filter(
            Q(number__istartswith=query)
            | Q(subject__icontains=query)
            | Q(customer__name__icontains=query)
        )
    return rows


def ticket_page(*, actor: Any, cursor: str | None = None, limit: int = 50, **filters: Any) -> Page:
    rows = ticket_list(actor=actor, **filters).select_related(
        "customer", "contact", "category", "assignee", "team__department"
    )
    return keyset_paginate(rows, ordering=TICKET_ORDERING, cursor=cursor, limit=limit)


def ticket_counts(*, actor: Any, now: dt.datetime | None = None) -> dict[str, int]:
    """The numbers on the list's tabs."""
    now = now or timezone.now()
    visible = ticket_visible_queryset(actor=actor)
    return visible.aggregate(
        mine=Count("pk", filter=Q(assignee=actor.pk, status__in=OPEN_STATUSES)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True, status__in=OPEN_STATUSES)),
        breached=Count("pk", filter=ticket_breached_q(now=now) & Q(status__in=OPEN_STATUSES)),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
    )


# --- one ticket ---------------------------------------------------------------------------------


def ticket_transitions(*, ticket: Ticket) -> list[TicketTransition]:
    return list(ticket.transitions.select_related("actor", "assignee"))


def ticket_comments(*, ticket: Ticket) -> list[TicketComment]:
    return list(ticket.comments.select_related("created_by"))


def ticket_attachments(*, ticket: Ticket) -> list[TicketAttachment]:
    """The files kept with ``ticket`` (which the caller checked the reader may see), oldest
    first."""
    return list(ticket.attachments.select_related("uploaded_by").order_by("created_at", "id"))


def ticket_assignee_choices(*, ticket: Ticket) -> QuerySet[User]:
    """Whom a ticket may go to: active members and leads of the service teams, its own team's
    first."""
    from guanxi.accounts.models import User

    return (
        User.objects.filter(Q(service_teams__isnull=False) | Q(led_service_teams__isnull=False))
        .filter(is_active=True)
        .distinct()
        .order_by("full_name", "pk")
    )


def ticket_sla_state(ticket: Ticket, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the ticket page says about each deadline: met, missed, running (with time left),
    paused, or calendar missing."""
    now = now or timezone.now()

    def state(due: dt.datetime | None, done: dt.datetime | None, breached: Any) -> str:
        if ticket.calendar_missing:
            return "calendar_missing"
        if ticket.sla_policy_id is None:
            return "none"
        if done is not None:
            return "met" if due is None or done <= due else "missed"
        if ticket.status == TicketStatus.WAITING:
            return "paused"
        if due is None:
            return "none"
        if breached or due < now:
            return "missed"
        return "running"

    return {
        "response": state(
            ticket.response_due_at, ticket.first_response_at, ticket.response_breached_at
        ),
        "resolution": state(
            ticket.resolution_due_at, ticket.resolved_at, ticket.resolution_breached_at
        ),
    }


def tickets_for_timeline(*, actor: Any, customer: Any, limit: int) -> list[Ticket]:
    return list(
        ticket_visible_queryset(actor=actor)
        .filter(customer=customer)
        .select_related("category", "assignee")
        .order_by("-created_at", "-id")[:limit]
    )


def customer_open_tickets(*, actor: Any, customer: Any) -> list[Ticket]:
    return list(
        ticket_visible_queryset(actor=actor)
        .filter(customer=customer, status__in=OPEN_STATUSES)
        .select_related("category", "assignee")
        .order_by("-created_at", "-id")[:20]
    )


# --- figures ------------------------------------------------------------------------------------

FIGURE_GROUPS = {
    "category": ("category", "category__name"),
    "department": ("department", "department__name"),
    "assignee": ("assignee", "assignee__full_name"),
}


@dataclass
class TimelinessRow:
    key: Any
    label: str
    total: int
    responded: int
    responded_in_time: int
    resolved: int
    resolved_in_time: int
    open: int
    breached_open: int
    satisfaction: float | None

    @property
    def response_rate(self) -> float | None:
        return self.responded_in_time / self.responded if self.responded else None

    @property
    def resolution_rate(self) -> float | None:
        """问题解决及时率: resolved within the resolution target, of those resolved."""
        return self.resolved_in_time / self.resolved if self.resolved else None


def ticket_timeliness(
    *,
    actor: Any,
    group: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
) -> list[TimelinessRow]:
    """Response and resolution timeliness per category, department or agent, of the tickets
    opened between ``start`` and ``end`` that ``actor`` may see: one aggregate query."""
    now = now or timezone.now()
    key, label = FIGURE_GROUPS[group]
    rows = (
        ticket_visible_queryset(actor=actor)
        .filter(created_at__gte=start, created_at__lt=end)
        .values(key, label)
        .annotate(
            total=Count("pk"),
            # Only tickets that had a deadline count for timeliness: no policy, or a calendar
            # year missing, is neither in time nor late.
            responded=Count(
                "pk", filter=Q(first_response_at__isnull=False, response_due_at__isnull=False)
            ),
            responded_in_time=Count(
                "pk",
                filter=Q(response_due_at__isnull=False)
                & Q(first_response_at__lte=F("response_due_at")),
            ),
            resolved=Count(
                "pk", filter=Q(resolved_at__isnull=False, resolution_due_at__isnull=False)
            ),
            resolved_in_time=Count(
                "pk",
                filter=Q(resolution_due_at__isnull=False)
                & Q(resolved_at__lte=F("resolution_due_at")),
            ),
            open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            breached_open=Count(
                "pk", filter=Q(status__in=OPEN_STATUSES) & ticket_breached_q(now=now)
            ),
            satisfaction=Avg("satisfaction"),
        )
        .order_by(label)
    )
    return [
        TimelinessRow(
            key=row[key],
            label=row[label] or "",
            total=row["total"],
            responded=row["responded"],
            responded_in_time=row["responded_in_time"],
            resolved=row["resolved"],
            resolved_in_time=row["resolved_in_time"],
            open=row["open"],
            breached_open=row["breached_open"],
            satisfaction=float(row["satisfaction"]) if row["satisfaction"] is not None else None,
        )
        for row in rows
    ]


def ticket_backlog(*, actor: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """Open tickets by status and by age (days since opened)."""
    now = now or timezone.now()
    open_rows = ticket_visible_queryset(actor=actor).filter(status__in=OPEN_STATUSES)
    by_status = dict(
        open_rows.values("status").annotate(count=Count("pk")).values_list("status", "count")
    )
    ages = open_rows.aggregate(
        under_1=Count("pk", filter=Q(created_at__gte=now - dt.timedelta(days=1))),
        under_3=Count(
            "pk",
            filter=Q(created_at__lt=now - dt.timedelta(days=1))
            & Q(created_at__gte=now - dt.timedelta(days=3)),
        ),
        under_7=Count(
            "pk",
            filter=Q(created_at__lt=now - dt.timedelta(days=3))
            & Q(created_at__gte=now - dt.timedelta(days=7)),
        ),
        older=Count("pk", filter=Q(created_at__lt=now - dt.timedelta(days=7))),
    )
    return {
        "by_status": [
            (status, by_status.get(status, 0))
            for status in TicketStatus.values
            if status in OPEN_STATUSES
        ],
        "ages": ages,
        "total": sum(by_status.values()),
    }
