"""Due dates on working days, through China's working calendar (core.selectors.
working_calendar_load: holidays and adjusted working days, 调休).

A task is due on a working day: a period ending on a Sunday is due the Friday before, a greeting
for a birthday on a Saturday is due the Friday before, a Spring Festival greeting the last
working day before the holiday. Moving earlier, never later, keeps the task inside its period and
the greeting before the occasion. A year the holiday table does not cover (CalendarMissing) falls
back to Monday to Friday: a greeting a day off is better than none, and the calendar page warns
administrators about the missing year.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from guanxi.core.china.calendar import CalendarMissing


def working_calendar(*, today: dt.date) -> Any:
    """The working calendar for the years around ``today`` (two queries)."""
    from guanxi.core.selectors import working_calendar_load

    return working_calendar_load(years=range(today.year - 1, today.year + 3))


def _is_working(calendar: Any, day: dt.date) -> bool:
    if calendar is not None:
        try:
            return bool(calendar.is_working_day(day))
        except (CalendarMissing, ValueError):
            pass
    return day.weekday() < 5


def working_day_on_or_before(
    calendar: Any, day: dt.date, *, not_before: dt.date | None = None
) -> dt.date:
    """The last working day on or before ``day``; ``day`` itself when there is none on or after
    ``not_before`` (a period of holidays only)."""
    floor = not_before or day - dt.timedelta(days=31)
    current = day
    while current >= floor:
        if _is_working(calendar, current):
            return current
        current -= dt.timedelta(days=1)
    return day
