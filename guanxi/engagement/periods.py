"""The periods a maintenance rule asks for one contact in: "every 2 weeks", "every month",
"every 3 months".

A rule's periods are consecutive windows anchored at a fixed day, so every customer, every run of
the scheduler and every process agrees on where a period starts: the key of a generated task is
(customer, rule, period start), and a database constraint keeps it unique. Weeks start on Monday
(the anchor, 2024-01-01, is one); months run from the first to the last day of a calendar month,
so "every 3 months" is the calendar quarter (January, April, July, October) and a period always
ends on a month's last day, whatever its length (28, 29, 30 or 31 days). Pure functions: no
database, no clock.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

ANCHOR = dt.date(2024, 1, 1)  # a Monday, the first day of a month and of a quarter

DAY = "day"
WEEK = "week"
MONTH = "month"
UNITS = (DAY, WEEK, MONTH)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months``, kept within the target month (31 January + 1 month is the
    last day of February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def period_of(unit: str, interval: int, day: dt.date) -> Period:
    """The period of a rule ("every ``interval`` ``unit``s") that ``day`` falls in."""
    if interval < 1:
        raise ValueError("interval must be at least 1")
    if unit == MONTH:
        months = (day.year - ANCHOR.year) * 12 + day.month - ANCHOR.month
        first = months - months % interval  # floor, also before the anchor
        start = add_months(ANCHOR, first)
        following = add_months(ANCHOR, first + interval)
        return Period(start, following - dt.timedelta(days=1))
    if unit not in (DAY, WEEK):
        raise ValueError(f"unknown period unit {unit!r}")
    length = interval * (7 if unit == WEEK else 1)
    offset = (day - ANCHOR).days
    start = ANCHOR + dt.timedelta(days=offset - offset % length)
    return Period(start, start + dt.timedelta(days=length - 1))


def period_next(unit: str, interval: int, period: Period) -> Period:
    return period_of(unit, interval, period.end + dt.timedelta(days=1))


def period_length_days(unit: str, interval: int) -> int:
    """A period's usual length in days, for comparing how often two rules ask for contact."""
    return interval * {DAY: 1, WEEK: 7, MONTH: 30}[unit]
