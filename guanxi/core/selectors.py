"""Reads for the recycle bin, the audit trail and saved views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractYear
from django.utils import timezone

from guanxi.accounts.roles import Capability
from guanxi.core.audit import object_type_of
from guanxi.core.china.calendar import FIRST_YEAR, LAST_YEAR, DayKind, WorkingCalendar
from guanxi.core.models import AuditEntry, BaseModel, CalendarDay, CalendarYear, SavedView
from guanxi.core.services import recyclable_models


@dataclass
class RecycleItem:
    object_type: str
    object_type_label: str
    instance: BaseModel
    purge_at: dt.datetime

    @property
    def pk(self) -> Any:
        return self.instance.pk


def recycle_bin_list(*, actor: Any, limit: int = 500) -> list[RecycleItem]:
    """Deleted records ``actor`` may restore: everything for an administrator, otherwise what
    they deleted themselves. Newest deletions first."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return []
    window = dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS)
    items: list[RecycleItem] = []
    for model in recyclable_models():
        rows = model._base_manager.filter(deleted_at__isnull=False)
        if not actor.can(Capability.RECYCLE_ALL):
            rows = rows.filter(deleted_by=actor)
        for instance in rows.select_related("deleted_by").order_by("-deleted_at")[:limit]:
            items.append(
                RecycleItem(
                    object_type=object_type_of(model),
                    object_type_label=str(model._meta.verbose_name),
                    instance=instance,
                    purge_at=instance.deleted_at + window,
                )
            )
    items.sort(key=lambda item: item.instance.deleted_at, reverse=True)
    return items[:limit]


def audit_list(
    *,
    actor: Any,
    object_type: str = "",
    object_id: str = "",
    actor_id: int | None = None,
    action: str = "",
) -> QuerySet[AuditEntry]:
    if not getattr(actor, "is_authenticated", False) or not actor.can(Capability.VIEW_AUDIT):
        return AuditEntry.objects.none()
    entries = AuditEntry.objects.all()
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if actor_id is not None:
        # An id no user can have (zero, negative, past the 64-bit column) matches nothing rather
        # than overflowing in the database driver.
        entries = entries.filter(actor_id=actor_id) if 0 < actor_id < 2**63 else entries.none()
    if action:
        entries = entries.filter(action=action)
    return entries


def saved_view_list(*, actor: Any, list_name: str) -> QuerySet[SavedView]:
    """``actor``'s own views of one list, by name. Views are private: nobody sees another's."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return SavedView.objects.none()
    return SavedView.objects.filter(user=actor, list_name=list_name).order_by("name", "id")


# --- calendar ------------------------------------------------------------------------------------


def working_calendar_load(*, years: range | None = None) -> WorkingCalendar:
    """The working-day calendar from the holiday table, in two queries; every check after that
    runs in memory. ``years`` limits what is loaded (asking about another year is then a
    ``ValueError``); by default every year is loaded — the table holds a few dozen rows a year.
    A year not marked complete raises ``CalendarMissing`` when asked about."""
    days = CalendarDay.objects.exclude(kind=DayKind.ORDINARY)
    coverage = CalendarYear.objects.filter(complete=True)
    if years is not None:
        days = days.filter(
            date__gte=dt.date(max(years.start, 1), 1, 1),
            date__lt=dt.date(min(years.stop, 9999), 1, 1),
        )
        coverage = coverage.filter(year__gte=years.start, year__lt=years.stop)
    return WorkingCalendar(
        days={
            date: (kind, holiday)
            for date, kind, holiday in days.values_list("date", "kind", "holiday")
        },
        covered_years=coverage.values_list("year", flat=True),
        loaded_years=years,
    )


def calendar_years_missing(*, today: dt.date | None = None, ahead: int = 1) -> list[int]:
    """The years from this one to ``ahead`` years on that the holiday table does not cover, so
    that pages can warn ("the calendar for 2027 is missing") before a deadline needs it."""
    today = today or timezone.localdate()
    wanted = range(today.year, today.year + ahead + 1)
    covered = set(
        CalendarYear.objects.filter(
            complete=True, year__gte=wanted.start, year__lt=wanted.stop
        ).values_list("year", flat=True)
    )
    return [year for year in wanted if year not in covered]


@dataclass
class CalendarYearStatus:
    year: int
    complete: bool
    holidays: int
    workdays: int
    row: CalendarYear | None

    @property
    def covered(self) -> bool:
        return self.complete


def calendar_year_list(*, today: dt.date | None = None, ahead: int = 1) -> list[CalendarYearStatus]:
    """Every year with a coverage row or days in the table, plus this year and the next
    ``ahead`` ones (so that a missing one shows), newest first, with its day counts."""
    today = today or timezone.localdate()
    rows = {row.year: row for row in CalendarYear.objects.select_related("updated_by")}
    counts = {
        entry["year"]: entry
        for entry in CalendarDay.objects.annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(
            holidays=Count("id", filter=Q(kind=DayKind.HOLIDAY)),
            workdays=Count("id", filter=Q(kind=DayKind.WORKDAY)),
        )
        .order_by("year")
    }
    years = set(rows) | set(counts) | set(range(today.year, today.year + ahead + 1))
    return [
        CalendarYearStatus(
            year=year,
            complete=bool(rows.get(year) and rows[year].complete),
            holidays=counts.get(year, {}).get("holidays", 0),
            workdays=counts.get(year, {}).get("workdays", 0),
            row=rows.get(year),
        )
        for year in sorted(years, reverse=True)
        if FIRST_YEAR <= year <= LAST_YEAR
    ]


def calendar_year_get(*, year: int) -> CalendarYearStatus:
    """One year's coverage and counts (a year without a row is not complete)."""
    row = CalendarYear.objects.select_related("updated_by").filter(year=year).first()
    counts = CalendarDay.objects.filter(
        date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
    ).aggregate(
        holidays=Count("id", filter=Q(kind=DayKind.HOLIDAY)),
        workdays=Count("id", filter=Q(kind=DayKind.WORKDAY)),
    )
    return CalendarYearStatus(
        year=year,
        complete=bool(row and row.complete),
        holidays=counts["holidays"],
        workdays=counts["workdays"],
        row=row,
    )


def calendar_day_list(*, year: int) -> QuerySet[CalendarDay]:
    """The rows of ``year`` by date, ``ordinary`` markers included (they say a seeded day was
    removed)."""
    return CalendarDay.objects.filter(
        date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
    ).select_related("updated_by")


@dataclass(frozen=True)
class CalendarCell:
    date: dt.date
    kind: str  # holiday, workday (adjusted), weekend, weekday
    row: CalendarDay | None


@dataclass(frozen=True)
class CalendarMonth:
    month: int
    first: dt.date
    weeks: list[list[CalendarCell | None]]  # Monday first; None pads the first and last week


def calendar_month_grid(*, year: int, days: list[CalendarDay]) -> list[CalendarMonth]:
    """The twelve months of ``year`` as week rows for the administrator's grid, from the rows
    already loaded. It shows what is entered, complete or not: it answers no working-day
    question, so it needs no coverage."""
    by_date = {day.date: day for day in days if day.kind != DayKind.ORDINARY}
    months = []
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        weeks: list[list[CalendarCell | None]] = [[None] * first.weekday()]
        current = first
        while current.month == month:
            row = by_date.get(current)
            kind = row.kind if row else ("weekend" if current.weekday() >= 5 else "weekday")
            if len(weeks[-1]) == 7:
                weeks.append([])
            weeks[-1].append(CalendarCell(current, kind, row))
            current += dt.timedelta(days=1)
        weeks[-1].extend([None] * (7 - len(weeks[-1])))
        months.append(CalendarMonth(month, first, weeks))
    return months
