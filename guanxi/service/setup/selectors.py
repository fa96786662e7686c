"""Reads of the service desk's reference data: the lists of the set-up page with what they mean
in words (a rule's conditions, a team's hours, a target in hours and minutes), the users a form
may offer, and the tester that says which rule and SLA policy a ticket would get and its
deadlines if it were opened now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import Department, User
from guanxi.core.models import Region
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_visible_queryset
from guanxi.service.models import (
    AssignmentMode,
    Priority,
    RoutingRule,
    ServiceTeam,
    SlaPolicy,
    Ticket,
    TicketCategory,
)
from guanxi.service.services import (
    routing_rule_match,
    sla_deadlines,
    sla_policy_for,
    team_assignee_pick,
)
from guanxi.service.setup.services import MEMBER_REFUSED_ROLES

# --- words ----------------------------------------------------------------------------------------


def duration_display(minutes: int | None) -> str:
    """A target in hours and minutes: 24 h, 1 h 30 min, 45 min."""
    if minutes is None:
        return "—"
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return _("%(minutes)s min") % {"minutes": rest}
    if not rest:
        return _("%(hours)s h") % {"hours": hours}
    return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}


def region_display(region: Region | None) -> str:
    """广东省深圳市: the names from the province down, a municipality's repeated name once."""
    names: list[str] = []
    node = region
    while node is not None:
        if not names or names[0] != node.name:
            names.insert(0, node.name)
        node = node.parent
    return "".join(names)


def team_hours_display(team: ServiceTeam) -> str:
    """09:00–12:00, 13:30–18:00 (Asia/Shanghai)."""
    if team.break_start and team.break_end:
        spans = [(team.work_start, team.break_start), (team.break_end, team.work_end)]
    else:
        spans = [(team.work_start, team.work_end)]
    hours = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in spans)
    return f"{hours} ({team.time_zone})"


def _user_label(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def routing_rule_conditions(rule: RoutingRule) -> str:
    """产品质量 · 紧急 · 广东省 · 战略大客户: the category and whatever else the rule asks for."""
    parts = [rule.category.name]
    if rule.priority:
        parts.append(str(rule.get_priority_display()))
    if rule.region_id:
        parts.append(region_display(rule.region))
    if rule.account_class:
        parts.append(str(rule.get_account_class_display()))
    return " · ".join(parts)


def routing_rule_describe(rule: RoutingRule) -> str:
    """The rule in words: 产品质量 · 紧急 · 广东省 → 技术部 (轮流分配), or → 技术部 · 张三 when
    the rule names its assignee."""
    if rule.assignee_id:
        return _("%(conditions)s → %(team)s · %(person)s") % {
            "conditions": routing_rule_conditions(rule),
            "team": str(rule.team),
            "person": _user_label(rule.assignee),
        }
    return _("%(conditions)s → %(team)s (%(mode)s)") % {
        "conditions": routing_rule_conditions(rule),
        "team": str(rule.team),
        "mode": str(AssignmentMode(rule.team.assignment_mode).label),
    }


def sla_policy_conditions(policy: SlaPolicy) -> str:
    """The tickets a policy is for, in words; "any ticket" when it asks for nothing."""
    parts = []
    if policy.category_id:
        parts.append(policy.category.name)
    if policy.priority:
        parts.append(str(policy.get_priority_display()))
    if policy.account_class:
        parts.append(str(policy.get_account_class_display()))
    return " · ".join(parts) if parts else _("Any ticket")


# --- lists ----------------------------------------------------------------------------------------


def category_list(*, active_only: bool = False) -> QuerySet[TicketCategory]:
    """The live categories in their order, each with how many tickets were filed under it
    (those in the recycle bin included: they keep it in use)."""
    categories = TicketCategory.objects.annotate(ticket_count=Count("tickets")).order_by(
        "position", "pk"
    )
    return categories.filter(active=True) if active_only else categories


def _members() -> Prefetch:
    return Prefetch("members", queryset=User.objects.order_by("full_name", "pk"))


def team_list() -> list[ServiceTeam]:
    """The live teams in the order of the department tree, members prefetched, each with its
    hours in words (``hours_label``)."""
    teams = list(
        ServiceTeam.objects.select_related("department", "lead")
        .prefetch_related(_members())
        .order_by("department__path", "pk")
    )
    for team in teams:
        team.hours_label = team_hours_display(team)  # type: ignore[attr-defined]  # shown on the page
    return teams


def team_detail(team: ServiceTeam) -> ServiceTeam:
    return (
        ServiceTeam.objects.select_related("department", "lead")
        .prefetch_related(_members())
        .get(pk=team.pk)
    )


def routing_rule_list() -> list[RoutingRule]:
    """The live rules in the order they are tried, each with its meaning in words
    (``label``)."""
    rules = list(
        RoutingRule.objects.select_related(
            "category", "team__department", "region__parent__parent", "assignee"
        ).order_by("position", "pk")
    )
    for rule in rules:
        rule.label = routing_rule_describe(rule)  # type: ignore[attr-defined]  # shown on the page
    return rules


def sla_policy_list() -> list[SlaPolicy]:
    """The live policies, the most specific first (the order in which they win), each with its
    conditions and targets in words."""
    policies = list(SlaPolicy.objects.select_related("category").order_by("pk"))
    for policy in policies:
        policy.conditions_label = sla_policy_conditions(policy)  # type: ignore[attr-defined]
        policy.response_label = duration_display(policy.response_minutes)  # type: ignore[attr-defined]
        policy.resolution_label = duration_display(policy.resolution_minutes)  # type: ignore[attr-defined]

    def specificity(policy: SlaPolicy) -> tuple[int, int]:
        score = (4 if policy.account_class else 0) + (2 if policy.category_id else 0)
        return (-(score + (1 if policy.priority else 0)), policy.pk)

    return sorted(policies, key=specificity)


def team_member_candidates() -> QuerySet[User]:
    """Who may be put on a team: active users of a role that works tickets."""
    return (
        User.objects.filter(is_active=True)
        .exclude(role__in=MEMBER_REFUSED_ROLES)
        .order_by("full_name", "pk")
    )


def team_lead_candidates() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("full_name", "pk")


def rule_assignee_candidates() -> QuerySet[User]:
    """Active members and leads of live teams (a rule's assignee must be one of its team's)."""
    members = ServiceTeam.members.through.objects.filter(
        serviceteam__deleted_at__isnull=True
    ).values("user_id")
    leads = ServiceTeam.objects.filter(lead__isnull=False).values("lead_id")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(pk__in=members) | Q(pk__in=leads))
        .order_by("full_name", "pk")
    )


def departments_without_team() -> QuerySet[Department]:
    """Live departments that have no service team (in the recycle bin or not) yet."""
    return Department.objects.exclude(pk__in=ServiceTeam.all_objects.values("department")).order_by(
        "path"
    )


def setup_counts() -> dict[str, int]:
    return {
        "categories": TicketCategory.objects.count(),
        "teams": ServiceTeam.objects.count(),
        "rules": RoutingRule.objects.count(),
        "policies": SlaPolicy.objects.count(),
    }


# --- the tester -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingPreview:
    """What a ticket of ``category`` and ``priority`` for ``customer`` would get if opened at
    ``created_at``: the first matching rule (None: nobody, it waits in the desk's queue), its
    team and the person it would go to, the SLA policy and the deadlines. ``calendar_missing``
    is the year the holiday table lacks when the deadlines need it (then no deadline)."""

    category: TicketCategory
    priority: str
    customer: Customer
    created_at: dt.datetime
    rule: RoutingRule | None
    rule_label: str
    team: ServiceTeam | None
    assignee: User | None
    assignee_named: bool
    policy: SlaPolicy | None
    policy_conditions: str
    response_label: str
    resolution_label: str
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    response_warn_at: dt.datetime | None
    resolution_warn_at: dt.datetime | None
    calendar_missing: int | None

    @property
    def priority_label(self) -> str:
        return str(Priority(self.priority).label)


def tester_customer(*, actor: Any, customer_id: Any) -> Customer | None:
    """The customer the tester is asked about, if ``actor`` may see it."""
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        return None
    return customer_visible_queryset(actor=actor).filter(pk=pk).first()


def routing_preview(
    *,
    category: TicketCategory,
    priority: str,
    customer: Customer,
    now: dt.datetime | None = None,
    working_days: Any = None,
) -> RoutingPreview:
    """Which rule and policy a ticket would get, as ``ticket_create`` decides them, and the
    deadlines of a ticket created ``now``. Reads only: the team's round robin does not move."""
    now = now or timezone.now()
    rule = routing_rule_match(category=category, priority=priority, customer=customer)
    team = rule.team if rule is not None else None
    assignee = None
    named = False
    if rule is not None and team is not None:
        # As ticket_create: the named person if they are still an active member, else the
        # team's pick.
        named = (
            rule.assignee is not None
            and rule.assignee.is_active
            and team.members.filter(pk=rule.assignee_id).exists()
        )
        assignee = rule.assignee if named else team_assignee_pick(team=team)
    policy = sla_policy_for(
        category=category, priority=priority, account_class=customer.account_class
    )
    ticket = Ticket(
        customer=customer,
        category=category,
        priority=priority,
        team=team,
        sla_policy=policy,
        created_at=now,
    )
    deadlines = sla_deadlines(ticket, working_days=working_days)
    return RoutingPreview(
        category=category,
        priority=priority,
        customer=customer,
        created_at=now,
        rule=rule,
        rule_label=routing_rule_describe(rule) if rule is not None else "",
        team=team,
        assignee=assignee,
        assignee_named=named,
        policy=policy,
        policy_conditions=sla_policy_conditions(policy) if policy is not None else "",
        response_label=duration_display(policy.response_minutes) if policy else "",
        resolution_label=duration_display(policy.resolution_minutes) if policy else "",
        response_due_at=deadlines["response_due_at"],
        resolution_due_at=deadlines["resolution_due_at"],
        response_warn_at=deadlines["response_warn_at"],
        resolution_warn_at=deadlines["resolution_warn_at"],
        calendar_missing=deadlines["calendar_missing"],
    )
