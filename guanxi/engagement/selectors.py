"""Reads for relationship maintenance: data scope, the task lists, which policy and rules apply to
a customer, the over-contact count, compliance, the care calendar and the timeline sources.

Interactions, tasks and plans follow their customer's scope (customers.selectors.
customer_visible_q); compliance follows the assignee's (a rep sees their own figures, a manager
their department and below, an administrator everyone's).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import Department, User
from guanxi.core.exceptions import ApplicationError
from guanxi.core.pagination import Page, keyset_paginate
from guanxi.core.scope import scope_q
from guanxi.customers.models import ARCHIVED_LIFECYCLES, Contact, Customer
from guanxi.customers.selectors import customer_merged_sources, customer_visible_q
from guanxi.engagement import periods
from guanxi.engagement.models import (
    KIND_SATISFIES,
    CommunicationPlan,
    EngagementSettings,
    FollowUpTask,
    Interaction,
    MaintenancePolicy,
    MaintenanceRule,
    kinds_fulfilling,
)


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


# The dates a filter or a report may name. Beyond them the time-zone arithmetic overflows (year
# 1, year 9999) and a request would fail instead of answering; no record of a CRM lies there.
FILTER_DATE_MIN = dt.date(1900, 1, 1)
FILTER_DATE_MAX = dt.date(2999, 12, 31)


def filter_dates_check(**dates: dt.date | None) -> None:
    """A ValidationError naming each of ``dates`` outside FILTER_DATE_MIN … FILTER_DATE_MAX."""
    errors = {
        name: [
            _("Enter a date from %(first)s to %(last)s.")
            % {"first": FILTER_DATE_MIN.isoformat(), "last": FILTER_DATE_MAX.isoformat()}
        ]
        for name, value in dates.items()
        if value is not None and not FILTER_DATE_MIN <= value <= FILTER_DATE_MAX
    }
    if errors:
        raise ValidationError(errors, code="date_out_of_range")


def local_day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in the deployment's time zone, as aware datetimes."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE)).date()


def settings_get() -> EngagementSettings:
    found = EngagementSettings.objects.filter(pk=EngagementSettings.SINGLETON_PK).first()
    return found or EngagementSettings(pk=EngagementSettings.SINGLETON_PK)


# --- interactions -------------------------------------------------------------------------------

INTERACTION_ORDERING = ("-occurred_at", "-id")


def interaction_visible_queryset(*, actor: Any) -> QuerySet[Interaction]:
    if not _active(actor):
        return Interaction.objects.none()
    return Interaction.objects.filter(
        customer_visible_q(actor, prefix="customer__"), customer__deleted_at__isnull=True
    )


def interaction_list(
    *,
    actor: Any,
    customer: int | None = None,
    channel: str = "",
    kind: str = "",
    author: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Interaction]:
    filter_dates_check(date_from=date_from, date_to=date_to)
    rows = interaction_visible_queryset(actor=actor)
    if customer is not None:
        rows = rows.filter(customer_id=customer)
    if channel:
        rows = rows.filter(channel=channel)
    if kind:
        rows = rows.filter(kind=kind)
    if author is not None:
        rows = rows.filter(created_by_id=author)
    if date_from is not None:
        rows = rows.filter(occurred_at__gte=local_day_bounds(date_from, date_from)[0])
    if date_to is not None:
        rows = rows.filter(occurred_at__lt=local_day_bounds(date_to, date_to)[1])
    return rows


def interaction_prefetch(rows: QuerySet[Interaction]) -> QuerySet[Interaction]:
    """What an interaction's output needs, in a fixed number of queries for any page: the
    customer, the author, the contacts present (names only: phones never leave here), our
    participants and the attachments."""
    return rows.select_related("customer", "created_by").prefetch_related(
        Prefetch(
            "contacts",
            queryset=Contact.objects.filter(deleted_at__isnull=True)
            .only("pk", "name", "title", "customer_id")
            .order_by("name", "id"),
        ),
        Prefetch("participants", queryset=User.objects.order_by("full_name", "id")),
        "attachments",
        Prefetch(
            "next_tasks",
            queryset=FollowUpTask.objects.filter(source=FollowUpTask.Source.NEXT_ACTION),
        ),
    )


def interaction_page(
    *, actor: Any, cursor: str | None = None, limit: int = 50, **filters: Any
) -> Page:
    rows = interaction_prefetch(interaction_list(actor=actor, **filters))
    return keyset_paginate(rows, ordering=INTERACTION_ORDERING, cursor=cursor, limit=limit)


def interaction_detail(*, interaction: Interaction) -> Interaction:
    return interaction_prefetch(Interaction.objects.filter(pk=interaction.pk)).get()


# --- tasks --------------------------------------------------------------------------------------

TASK_VIEWS = ("today", "overdue", "due_today", "upcoming", "open", "escalated", "done")
UPCOMING_DAYS = 14


def followup_visible_queryset(*, actor: Any) -> QuerySet[FollowUpTask]:
    if not _active(actor):
        return FollowUpTask.objects.none()
    return FollowUpTask.objects.filter(
        customer_visible_q(actor, prefix="customer__"), customer__deleted_at__isnull=True
    )


def followup_list(
    *,
    actor: Any,
    view: str = "today",
    assignee: int | None = None,
    customer: int | None = None,
    kind: str = "",
    source: str = "",
    today: dt.date | None = None,
) -> QuerySet[FollowUpTask]:
    """Tasks ``actor`` may see, of one ``view``: ``today`` (overdue and due today), ``overdue``,
    ``due_today``, ``upcoming`` (the next UPCOMING_DAYS days), ``open``, ``escalated`` (open and
    sent to a manager), ``done``."""
    today = today or timezone.localdate()
    rows = followup_visible_queryset(actor=actor)
    open_ = Q(status=FollowUpTask.Status.OPEN)
    if view == "today":
        rows = rows.filter(open_, due_date__lte=today)
    elif view == "overdue":
        rows = rows.filter(open_, due_date__lt=today)
    elif view == "due_today":
        rows = rows.filter(open_, due_date=today)
    elif view == "upcoming":
        rows = rows.filter(
            open_, due_date__gt=today, due_date__lte=today + dt.timedelta(days=UPCOMING_DAYS)
        )
    elif view == "open":
        rows = rows.filter(open_)
    elif view == "escalated":
        rows = rows.filter(open_, escalated_at__isnull=False)
    elif view == "done":
        rows = rows.filter(status=FollowUpTask.Status.DONE)
    else:
        raise ApplicationError(
            code="invalid_view", fields={"view": [str(_("Select a valid choice."))]}
        )
    if assignee is not None:
        rows = rows.filter(assignee_id=assignee)
    if customer is not None:
        rows = rows.filter(customer_id=customer)
    if kind:
        rows = rows.filter(kind=kind)
    if source:
        rows = rows.filter(source=source)
    return rows


def followup_ordering(view: str) -> tuple[str, ...]:
    return ("-due_date", "-id") if view == "done" else ("due_date", "id")


def followup_page(
    *,
    actor: Any,
    view: str = "today",
    cursor: str | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    rows = followup_list(actor=actor, view=view, **filters).select_related(
        "customer", "assignee", "contact", "rule"
    )
    return keyset_paginate(rows, ordering=followup_ordering(view), cursor=cursor, limit=limit)


@dataclass(frozen=True)
class TaskCounts:
    overdue: int
    due_today: int
    upcoming: int


def followup_counts(
    *, actor: Any, assignee: int | None = None, today: dt.date | None = None
) -> TaskCounts:
    """Overdue, due today and upcoming open tasks, in one query."""
    today = today or timezone.localdate()
    rows = followup_list(actor=actor, view="open", assignee=assignee, today=today)
    counts = rows.aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        due_today=Count("pk", filter=Q(due_date=today)),
        upcoming=Count(
            "pk",
            filter=Q(due_date__gt=today, due_date__lte=today + dt.timedelta(days=UPCOMING_DAYS)),
        ),
    )
    return TaskCounts(**counts)


def followup_customer_open(
    *, actor: Any, customer: Customer, limit: int = 20
) -> list[FollowUpTask]:
    return list(
        followup_list(actor=actor, view="open", customer=customer.pk)
        .select_related("assignee", "contact")
        .order_by("due_date", "id")[:limit]
    )


# --- policies -----------------------------------------------------------------------------------

POLICY_LIFECYCLES = tuple(
    value for value in Customer.Lifecycle.values if value not in ARCHIVED_LIFECYCLES
)


def policy_list(*, include_inactive: bool = True) -> list[MaintenancePolicy]:
    policies = MaintenancePolicy.objects.prefetch_related(
        Prefetch("rules", queryset=MaintenanceRule.objects.order_by("id"))
    ).order_by("name", "id")
    if not include_inactive:
        policies = policies.filter(is_active=True)
    return list(policies)


def policies_by_class(
    policies: Iterable[MaintenancePolicy] | None = None,
) -> dict[tuple[str, str], MaintenancePolicy]:
    """(lifecycle, account class) → the policy its customers follow: the most specific active
    policy that matches (MaintenancePolicy.specificity: both fields beat a key-account class,
    which beats a lifecycle, which beats neither). Two policies cannot share a class."""
    if policies is None:
        policies = policy_list(include_inactive=False)
    active = [policy for policy in policies if policy.is_active and policy.deleted_at is None]
    found: dict[tuple[str, str], MaintenancePolicy] = {}
    for lifecycle in POLICY_LIFECYCLES:
        for account_class in Customer.AccountClass.values:
            matching = [
                policy
                for policy in active
                if policy.lifecycle in ("", lifecycle)
                and policy.account_class in ("", account_class)
            ]
            if matching:
                found[(lifecycle, account_class)] = max(
                    matching, key=lambda policy: (policy.specificity, -policy.pk)
                )
    return found


def policy_for_customer(
    customer: Customer, mapping: dict[tuple[str, str], MaintenancePolicy] | None = None
) -> MaintenancePolicy | None:
    if customer.archived_at is not None or customer.lifecycle in ARCHIVED_LIFECYCLES:
        return None
    mapping = policies_by_class() if mapping is None else mapping
    return mapping.get((customer.lifecycle, customer.account_class))


def policy_customer_q(
    policy: MaintenancePolicy, mapping: dict[tuple[str, str], MaintenancePolicy]
) -> Q:
    """The customers that follow ``policy``, as one filter on their class."""
    condition = Q(pk__in=[])
    for (lifecycle, account_class), chosen in mapping.items():
        if chosen.pk == policy.pk:
            condition |= Q(lifecycle=lifecycle, account_class=account_class)
    return condition


@dataclass(frozen=True)
class EffectiveRule:
    """One requirement as the engine applies it to one customer: a policy rule narrowed by the
    customer's communication plan, or the plan's own frequency."""

    source: str  # FollowUpTask.Source.POLICY or PLAN
    rule_id: int | None
    kind: str
    unit: str
    interval: int
    channels: tuple[str, ...]
    max_count: int | None
    label: str

    def period(self, day: dt.date) -> periods.Period:
        return periods.period_of(self.unit, self.interval, day)


def plan_channels_apply(rule_channels: Iterable[str], plan: CommunicationPlan | None) -> tuple:
    """A rule's channels narrowed by the plan's preferred ones, unless none would remain (the
    policy's minimum wins: a strategic customer still needs a meeting)."""
    base = list(rule_channels or [])
    preferred = list(plan.channels or []) if plan is not None else []
    if not preferred:
        return tuple(base)
    narrowed = [channel for channel in (base or preferred) if channel in preferred]
    return tuple(narrowed or base)


def effective_rules(
    *,
    policy: MaintenancePolicy | None,
    plan: CommunicationPlan | None,
    rules: Iterable[MaintenanceRule] | None = None,
) -> list[EffectiveRule]:
    """The requirements for a customer that follows ``policy`` and has ``plan``."""
    found: list[EffectiveRule] = []
    if policy is not None:
        for rule in rules if rules is not None else policy.rules.all():
            if rule.deleted_at is not None:
                continue
            found.append(
                EffectiveRule(
                    source=FollowUpTask.Source.POLICY,
                    rule_id=rule.pk,
                    kind=rule.kind,
                    unit=rule.unit,
                    interval=rule.interval,
                    channels=plan_channels_apply(rule.channels, plan),
                    max_count=rule.max_count,
                    label=rule.get_kind_display(),
                )
            )
    if plan is not None and plan.frequency in CommunicationPlan.FREQUENCY_PERIODS:
        unit, interval = CommunicationPlan.FREQUENCY_PERIODS[plan.frequency]
        length = periods.period_length_days(unit, interval)
        # Stricter only: a plan asking for contact less often than every rule does adds nothing.
        if all(periods.period_length_days(r.unit, r.interval) > length for r in found):
            found.append(
                EffectiveRule(
                    source=FollowUpTask.Source.PLAN,
                    rule_id=None,
                    kind="touch",
                    unit=unit,
                    interval=interval,
                    channels=tuple(plan.channels or ()),
                    max_count=None,
                    label=str(plan.get_frequency_display()),
                )
            )
    return found


def plan_for_customer(*, customer: Customer) -> CommunicationPlan | None:
    return CommunicationPlan.objects.filter(customer=customer).first()


# --- over-contact -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverContact:
    """A maximum that one more contact would exceed: a rule's per period, or the plan's per
    month."""

    source: str  # "policy" or "plan"
    label: str
    max_count: int
    count: int  # contacts already counted in the period
    period_start: dt.date
    period_end: dt.date

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "label": self.label,
            "max_count": self.max_count,
            "count": self.count,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
        }


def over_contact_find(
    *,
    customer: Customer,
    kind: str,
    when: dt.datetime,
    exclude_id: int | None = None,
) -> list[OverContact]:
    """The maxima that a contact of ``kind`` with ``customer`` at ``when`` would exceed (empty
    when it is within every limit). A rule's maximum counts the contacts that fulfil the rule's
    kind in its period; the plan's counts every contact in the calendar month."""
    day = local_date(when)
    policy = policy_for_customer(customer)
    plan = plan_for_customer(customer=customer)
    found: list[OverContact] = []
    logged = Interaction.objects.filter(customer=customer)
    if exclude_id is not None:
        logged = logged.exclude(pk=exclude_id)
    for rule in effective_rules(policy=policy, plan=plan):
        if rule.max_count is None or rule.kind not in KIND_SATISFIES.get(kind, ()):
            continue
        period = rule.period(day)
        start, end = local_day_bounds(period.start, period.end)
        count = logged.filter(
            occurred_at__gte=start, occurred_at__lt=end, kind__in=kinds_fulfilling(rule.kind)
        ).count()
        if count + 1 > rule.max_count:
            found.append(
                OverContact("policy", rule.label, rule.max_count, count, period.start, period.end)
            )
    if plan is not None and plan.max_per_month:
        period = periods.period_of(periods.MONTH, 1, day)
        start, end = local_day_bounds(period.start, period.end)
        count = logged.filter(occurred_at__gte=start, occurred_at__lt=end).count()
        if count + 1 > plan.max_per_month:
            found.append(
                OverContact(
                    "plan",
                    str(CommunicationPlan._meta.get_field("max_per_month").verbose_name),
                    plan.max_per_month,
                    count,
                    period.start,
                    period.end,
                )
            )
    return found


# --- compliance ---------------------------------------------------------------------------------

COMPLIANCE_SOURCES = (FollowUpTask.Source.POLICY, FollowUpTask.Source.PLAN)


@dataclass
class ComplianceRow:
    """Policy tasks whose deadline fell in the period: done by the deadline, done later, not done
    (``missed``), and the share done on time (None without any task)."""

    key: Any
    label: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    user: User | None = None
    department: Department | None = None

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def percent(self) -> int | None:
        return round(100 * self.on_time / self.due) if self.due else None

    def add(self, other: ComplianceRow) -> None:
        self.due += other.due
        self.on_time += other.on_time
        self.late += other.late
        self.missed += other.missed


@dataclass
class ComplianceReport:
    date_from: dt.date
    date_to: dt.date
    people: list[ComplianceRow] = field(default_factory=list)
    teams: list[ComplianceRow] = field(default_factory=list)
    total: ComplianceRow = field(default_factory=lambda: ComplianceRow(None, ""))


def compliance_report(
    *, actor: Any, date_from: dt.date, date_to: dt.date, today: dt.date | None = None
) -> ComplianceReport:
    """Follow-up compliance (跟进达成率) per assignee and per team (the assignee's department)
    in ``actor``'s scope: of the policy and plan tasks whose deadline fell from ``date_from`` to
    ``date_to`` (up to yesterday: today's are not late yet), the share done by the deadline.
    Cancelled tasks (the customer left the policy) do not count. One grouped query."""
    today = today or timezone.localdate()
    report = ComplianceReport(date_from=date_from, date_to=date_to)
    if not _active(actor):
        return report
    last = min(date_to, today - dt.timedelta(days=1))
    rows = FollowUpTask.objects.filter(
        scope_q(actor, owner_field="assignee", department_field="assignee__department"),
        source__in=COMPLIANCE_SOURCES,
        deadline__gte=date_from,
        deadline__lte=last,
        assignee__isnull=False,
        customer__deleted_at__isnull=True,
    ).exclude(status=FollowUpTask.Status.CANCELLED)
    done = Q(status=FollowUpTask.Status.DONE)
    grouped = (
        rows.values("assignee", "assignee__department")
        .annotate(
            due=Count("pk"),
            on_time=Count("pk", filter=done & Q(completed_on__lte=F("deadline"))),
            late=Count("pk", filter=done & Q(completed_on__gt=F("deadline"))),
            missed=Count("pk", filter=Q(status=FollowUpTask.Status.OPEN)),
        )
        .order_by()
    )
    grouped = list(grouped)
    users = User.objects.in_bulk({row["assignee"] for row in grouped})
    departments = Department.all_objects.in_bulk(
        {row["assignee__department"] for row in grouped if row["assignee__department"]}
    )
    teams: dict[Any, ComplianceRow] = {}
    for row in grouped:
        user = users.get(row["assignee"])
        person = ComplianceRow(
            key=row["assignee"],
            label=user.get_full_name() if user else "",
            due=row["due"],
            on_time=row["on_time"],
            late=row["late"],
            missed=row["missed"],
            user=user,
            department=departments.get(row["assignee__department"]),
        )
        report.people.append(person)
        team_key = row["assignee__department"]
        team = teams.get(team_key)
        if team is None:
            department = departments.get(team_key)
            team = teams[team_key] = ComplianceRow(
                key=team_key, label=department.name if department else "", department=department
            )
        team.add(person)
        report.total.add(person)
    report.people.sort(key=lambda row: (row.rate if row.rate is not None else 2, row.label))
    report.teams = sorted(teams.values(), key=lambda row: row.label)
    return report


# --- care calendar ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CareDate:
    """One occasion to greet a customer: a contact's birthday, the anniversary of the first
    contact, or a festival (shared by every customer, listed once)."""

    kind: str  # "birthday", "anniversary", "festival"
    date: dt.date
    label: str
    customer: Customer | None = None
    contact: Contact | None = None
    years: int | None = None
    lunar: bool = False
    key: str = ""


def care_festivals(*, start: dt.date, end: dt.date) -> list[Any]:
    from guanxi.core.china.calendar import festivals_between

    try:
        return festivals_between(start, end)
    except ValidationError:  # a year outside the lunar table: no festivals to show
        return []


def _month_days(start: dt.date, end: dt.date) -> list[int]:
    """Solar month*100+day of every day from ``start`` to ``end`` (29 February is greeted on
    28 February in a common year)."""
    found = []
    day = start
    while day <= end:
        found.append(day.month * 100 + day.day)
        if day.month == 2 and day.day == 28:
            try:
                dt.date(day.year, 2, 29)
            except ValueError:
                found.append(229)
        day += dt.timedelta(days=1)
    return found


def birthdays_between(
    contacts: QuerySet[Contact], *, start: dt.date, end: dt.date
) -> list[tuple[Contact, dt.date]]:
    """The contacts among ``contacts`` whose next birthday falls from ``start`` to ``end`` (at
    most 366 days), with its date. Solar birthdays are picked in SQL by month and day; lunar ones
    (few) are computed in Python from the lunar date of the date of birth."""
    from guanxi.core.china.calendar import BirthdayCalendar, birthday_next, lunar_from_solar

    contacts = contacts.filter(birthday__isnull=False)
    found: list[tuple[Contact, dt.date]] = []
    solar = (
        contacts.filter(birthday_lunar=False)
        .annotate(md=ExtractMonth("birthday") * 100 + ExtractDay("birthday"))
        .filter(md__in=_month_days(start, end))
    )
    for contact in solar:
        found.append(
            (
                contact,
                birthday_next(
                    month=contact.birthday.month, day=contact.birthday.day, on_or_after=start
                ),
            )
        )
    for contact in contacts.filter(birthday_lunar=True):
        try:
            lunar = lunar_from_solar(contact.birthday)
            when = birthday_next(
                month=lunar.month,
                day=lunar.day,
                on_or_after=start,
                calendar=BirthdayCalendar.LUNAR,
                is_leap_month=lunar.is_leap_month,
            )
        except (ValidationError, ValueError):  # a date of birth outside the lunar table
            continue
        if when <= end:
            found.append((contact, when))
    return sorted(found, key=lambda pair: (pair[1], pair[0].pk))


def anniversaries_between(
    customers: QuerySet[Customer], *, start: dt.date, end: dt.date
) -> list[tuple[Customer, dt.date, int]]:
    """Customers whose first-contact anniversary (a year or more) falls from ``start`` to
    ``end``, with its date and number of years."""
    from guanxi.core.china.calendar import anniversary_next

    found = []
    rows = (
        customers.filter(first_contact_date__isnull=False, first_contact_date__lt=start)
        .annotate(md=ExtractMonth("first_contact_date") * 100 + ExtractDay("first_contact_date"))
        .filter(md__in=_month_days(start, end))
    )
    for customer in rows:
        anniversary = anniversary_next(customer.first_contact_date, on_or_after=start)
        if anniversary.date <= end:
            found.append((customer, anniversary.date, anniversary.years))
    return sorted(found, key=lambda item: (item[1], item[0].pk))


CARE_PAGE_LIMIT = 300


def care_calendar(
    *, actor: Any, start: dt.date, end: dt.date, limit: int = CARE_PAGE_LIMIT
) -> list[CareDate]:
    """The care dates from ``start`` to ``end`` of the owned, active customers ``actor`` may see:
    festivals, contacts' birthdays and first-contact anniversaries, by date (at most ``limit``
    birthdays and anniversaries)."""
    from guanxi.core.china.calendar import FestivalKey

    if not _active(actor):
        return []
    customers = Customer.objects.filter(
        customer_visible_q(actor), owner__isnull=False, archived_at__isnull=True
    )
    contacts = Contact.objects.filter(
        customer__in=customers, customer__deleted_at__isnull=True
    ).select_related("customer")
    items: list[CareDate] = [
        CareDate(
            kind="festival",
            date=festival.date,
            label=str(FestivalKey(festival.key).label),
            lunar=festival.lunar,
            key=festival.key,
        )
        for festival in care_festivals(start=start, end=end)
    ]
    for contact, when in birthdays_between(contacts, start=start, end=end)[:limit]:
        items.append(
            CareDate(
                kind="birthday",
                date=when,
                label=contact.name,
                customer=contact.customer,
                contact=contact,
                lunar=contact.birthday_lunar,
            )
        )
    for customer, when, years in anniversaries_between(customers, start=start, end=end)[:limit]:
        items.append(
            CareDate(
                kind="anniversary", date=when, label=customer.name, customer=customer, years=years
            )
        )
    order = {"festival": 0, "birthday": 1, "anniversary": 2}
    return sorted(items, key=lambda item: (item.date, order[item.kind], item.label))


# --- the customer page and timeline -------------------------------------------------------------


def customer_timeline_ids(customer: Customer) -> list[int]:
    """The customer and every customer merged into it: their interactions and tasks belong to
    its timeline (merging moves contacts and needs, not the log; see customers.merge)."""
    return [
        customer.pk,
        *(
            source.customer_id
            for source in customer_merged_sources(customer_id=customer.pk).values()
        ),
    ]


def interactions_for_timeline(*, actor: Any, customer: Customer, limit: int) -> list[Interaction]:
    if not _active(actor):
        return []
    ids = customer_timeline_ids(customer)
    rows = Interaction.objects.filter(customer_id__in=ids).order_by(*INTERACTION_ORDERING)
    return list(interaction_prefetch(rows)[:limit])


def tasks_for_timeline(*, actor: Any, customer: Customer, limit: int) -> list[FollowUpTask]:
    """Tasks done, newest first (the customer's and those of customers merged into it)."""
    if not _active(actor):
        return []
    ids = customer_timeline_ids(customer)
    return list(
        FollowUpTask.objects.filter(customer_id__in=ids, status=FollowUpTask.Status.DONE)
        .select_related("assignee", "completed_by", "contact")
        .order_by("-completed_at", "-id")[:limit]
    )


def tasks_by_assignee_due(*, today: dt.date) -> dict[int, dict[str, int]]:
    """Open tasks per assignee: how many are due today and how many are overdue (the morning
    digest)."""
    rows = (
        FollowUpTask.objects.filter(
            status=FollowUpTask.Status.OPEN,
            due_date__lte=today,
            assignee__isnull=False,
            assignee__is_active=True,
            customer__deleted_at__isnull=True,
        )
        .values("assignee")
        .annotate(
            due_today=Count("pk", filter=Q(due_date=today)),
            overdue=Count("pk", filter=Q(due_date__lt=today)),
        )
        .order_by("assignee")
    )
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for row in rows:
        result[row["assignee"]] = {"due_today": row["due_today"], "overdue": row["overdue"]}
    return dict(result)


def tasks_due_counts_visible(*, user: User, today: dt.date) -> dict[str, int]:
    """``user``'s open tasks due today and overdue, counting only customers ``user`` may still
    see: a task left with someone after its customer moved out of their scope is not theirs to
    hear about (it is the digest's figure, so it matches 今日待办)."""
    counts = FollowUpTask.objects.filter(
        customer_visible_q(user, prefix="customer__"),
        status=FollowUpTask.Status.OPEN,
        due_date__lte=today,
        assignee=user,
        customer__deleted_at__isnull=True,
    ).aggregate(
        due_today=Count("pk", filter=Q(due_date=today)),
        overdue=Count("pk", filter=Q(due_date__lt=today)),
    )
    return {"due_today": counts["due_today"] or 0, "overdue": counts["overdue"] or 0}
