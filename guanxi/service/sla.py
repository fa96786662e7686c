"""The SLA clock: pure arithmetic of working time, no database access.

A clock runs either around the clock (24×7) or in working hours: the intervals of a working day
(09:00–18:00 by default, a lunch break possible) on the days China's holiday table says are
working days (weekends, statutory holidays and the adjusted working weekend days, 调休, all come
from :class:`~guanxi.core.china.calendar.WorkingCalendar`). A year the table does not cover
raises ``CalendarMissing``: a deadline is never guessed.

Choices made here:

* Everything is measured in elapsed (UTC) time, then shown in the clock's time zone; the
  working intervals are wall-clock times of that zone. China has no daylight saving time; in a
  zone that has, an interval that loses or gains an hour counts what really elapsed.
* Working time is closed at both ends: a deadline may fall exactly at an interval's end
  (18:00), and zero duration from 18:00 is 18:00. Zero duration from a moment outside working
  time is the next working moment.
* A pause stops the clock from ``paused_at`` to ``resumed_at``. A pause still open means there
  is no deadline (``None``) — unless the target was already used up before the pause began: a
  breach is not undone by waiting on the customer afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from guanxi.core.china.calendar import WorkingCalendar

# The stored values of the service app's ClockMode choices.
ALWAYS = "24x7"
WORKING_HOURS = "working_hours"

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_INTERVALS = ((dt.time(9), dt.time(18)),)

_UTC = dt.UTC
# The end of the single segment of a 24×7 clock.
_END_OF_TIME = dt.datetime.max.replace(tzinfo=_UTC)

Interval = tuple[dt.time, dt.time]
Segment = tuple[dt.datetime, dt.datetime]
Pause = tuple[dt.datetime, dt.datetime | None]


@dataclass(frozen=True, kw_only=True)
class SlaCalendar:
    """How an SLA clock runs: ``mode`` is ``"24x7"`` or ``"working_hours"``; in working hours,
    the clock runs during ``intervals`` (wall-clock times in ``timezone``, sorted and not
    overlapping) on the working days of ``working_days``."""

    mode: str
    timezone: dt.tzinfo = SHANGHAI
    intervals: tuple[Interval, ...] = DEFAULT_INTERVALS
    working_days: WorkingCalendar | None = None

    def __post_init__(self) -> None:
        if self.mode not in (ALWAYS, WORKING_HOURS):
            raise ValueError(f"unknown clock mode {self.mode!r}")
        if not isinstance(self.timezone, dt.tzinfo):
            raise ValueError("timezone must be a tzinfo such as ZoneInfo('Asia/Shanghai')")
        # Accept lists too, but keep the frozen dataclass hashable.
        intervals = tuple(tuple(interval) for interval in self.intervals)
        object.__setattr__(self, "intervals", intervals)
        if not intervals:
            raise ValueError("a working day needs at least one interval")
        previous_end = None
        for interval in intervals:
            if len(interval) != 2 or not all(isinstance(t, dt.time) for t in interval):
                raise ValueError(f"an interval is a (start, end) pair of times: {interval!r}")
            start, end = interval
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("interval times are wall-clock times of the timezone: naive")
            if end <= start:
                raise ValueError(f"interval {start}–{end} ends before it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError("intervals must be sorted and must not overlap")
            previous_end = end
        if self.mode == WORKING_HOURS and not isinstance(self.working_days, WorkingCalendar):
            raise ValueError("a working-hours clock needs a WorkingCalendar")


def working_intervals(
    start: dt.time,
    end: dt.time,
    break_start: dt.time | None = None,
    break_end: dt.time | None = None,
) -> tuple[Interval, ...]:
    """The intervals of a working day from ``start`` to ``end`` with an optional break (a
    service team's hours), for :class:`SlaCalendar`."""
    if break_start is None and break_end is None:
        return ((start, end),)
    if break_start is None or break_end is None:
        raise ValueError("a break needs both a start and an end")
    if not start < break_start < break_end < end:
        raise ValueError("the break must lie inside the working hours")
    return ((start, break_start), (break_end, end))


# --- the public clock ---------------------------------------------------------------------------


def add_working_time(
    start: dt.datetime, duration: dt.timedelta, calendar: SlaCalendar
) -> dt.datetime:
    """The moment at which ``duration`` of working time has elapsed after ``start``, in the
    calendar's time zone. Raises ``CalendarMissing`` if the walk reaches an uncovered year."""
    found = _consume(_segments(_utc(start, "start"), calendar), _duration(duration))
    if found is None:  # only past datetime.max: the walk otherwise finds it or raises
        raise OverflowError("the deadline lies beyond the year 9999")
    return found.astimezone(calendar.timezone)


def working_time_between(
    start: dt.datetime, end: dt.datetime, calendar: SlaCalendar
) -> dt.timedelta:
    """The working time from ``start`` to ``end`` (zero if ``end`` is not after ``start``)."""
    return elapsed_with_pauses(start, end, calendar, ())


def deadline_with_pauses(
    start: dt.datetime,
    duration: dt.timedelta,
    calendar: SlaCalendar,
    pauses: Iterable[Pause],
) -> dt.datetime | None:
    """The deadline of a ``duration`` target started at ``start`` when the clock stood still
    during ``pauses`` ((paused_at, resumed_at or None) pairs, in any order, overlapping or not);
    ``None`` while an open pause stops the clock before the target is used up."""
    start = _utc(start, "start")
    duration = _duration(duration)
    segments = _without_pauses(_segments(start, calendar), _merge_pauses(pauses))
    found = _consume(segments, duration)
    return None if found is None else found.astimezone(calendar.timezone)


def elapsed_with_pauses(
    start: dt.datetime,
    now: dt.datetime,
    calendar: SlaCalendar,
    pauses: Iterable[Pause],
) -> dt.timedelta:
    """The working time used from ``start`` to ``now``, pauses excluded (to warn at a share of
    the target)."""
    start, now = _utc(start, "start"), _utc(now, "now")
    if now <= start:
        return dt.timedelta(0)
    segments = _segments(start, calendar, until=now)
    total = dt.timedelta(0)
    for segment_start, segment_end in _without_pauses(segments, _merge_pauses(pauses)):
        if segment_start >= now:
            break
        total += min(segment_end, now) - segment_start
    return total


# --- the walk -----------------------------------------------------------------------------------


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    # Aware arithmetic in Python is wall-clock arithmetic when both sides share a tzinfo, so
    # everything is converted to UTC first.
    if not isinstance(moment, dt.datetime):
        raise ValueError(f"{name} must be a datetime")
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment.astimezone(_UTC)


def _duration(duration: dt.timedelta) -> dt.timedelta:
    if not isinstance(duration, dt.timedelta):
        raise ValueError("duration must be a timedelta")
    if duration < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    return duration


def _segments(
    start: dt.datetime, calendar: SlaCalendar, *, until: dt.datetime | None = None
) -> Iterator[Segment]:
    """The spans of working time from ``start`` on, in order, as UTC (start, end) pairs; the
    first may begin at ``start`` and may be empty (``start`` exactly at an interval's end).

    Endless for a working-hours clock unless ``until`` is given: the walk stops at the day
    containing ``until`` (so a later, uncovered year is not asked about) or raises
    ``CalendarMissing`` on the first day of a year the calendar does not cover. A whole working
    day costs one look-up and one subtraction per interval, never a minute-by-minute walk."""
    if calendar.mode == ALWAYS:
        yield start, _END_OF_TIME
        return
    working_days = calendar.working_days
    zone = calendar.timezone
    day = start.astimezone(zone).date()
    while until is None or dt.datetime.combine(day, dt.time(0), tzinfo=zone) < until:
        if working_days.is_working_day(day):  # raises CalendarMissing
            for opens, closes in calendar.intervals:
                segment_start = dt.datetime.combine(day, opens, tzinfo=zone).astimezone(_UTC)
                segment_end = dt.datetime.combine(day, closes, tzinfo=zone).astimezone(_UTC)
                if segment_end >= start:
                    # The max() guard only matters for a wall-clock interval that a daylight
                    # saving jump turned upside down: it counts as empty.
                    segment_start = max(segment_start, start)
                    yield segment_start, max(segment_start, segment_end)
        day += dt.timedelta(days=1)


def _consume(segments: Iterable[Segment], duration: dt.timedelta) -> dt.datetime | None:
    """Where ``duration`` runs out along ``segments``; ``None`` if they end first."""
    remaining = duration
    for segment_start, segment_end in segments:
        if remaining <= segment_end - segment_start:
            return segment_start + remaining
        remaining -= segment_end - segment_start
    return None


def _merge_pauses(pauses: Iterable[Pause]) -> list[Pause]:
    """The pauses sorted and merged so that none overlap or touch; an open pause swallows every
    later one (the clock has stood still since it began). Pauses before the start need no
    special care: the walk never looks before it."""
    cleaned = []
    for paused_at, resumed_at in pauses:
        paused = _utc(paused_at, "paused_at")
        resumed = None if resumed_at is None else _utc(resumed_at, "resumed_at")
        if resumed is not None and resumed < paused:
            raise ValueError("a pause cannot end before it begins")
        if resumed == paused:
            continue
        cleaned.append((paused, resumed))
    cleaned.sort(key=lambda pause: pause[0])
    merged: list[Pause] = []
    for paused, resumed in cleaned:
        if merged and (merged[-1][1] is None or paused <= merged[-1][1]):
            last_paused, last_resumed = merged[-1]
            if last_resumed is None:
                break
            merged[-1] = (last_paused, None if resumed is None else max(last_resumed, resumed))
        else:
            merged.append((paused, resumed))
    return merged


def _without_pauses(segments: Iterable[Segment], pauses: Sequence[Pause]) -> Iterator[Segment]:
    """``segments`` with the (merged) ``pauses`` cut out; ends at an open pause."""
    index = 0
    for segment_start, segment_end in segments:
        while index < len(pauses) and segment_start <= segment_end:
            paused, resumed = pauses[index]
            if resumed is not None and resumed <= segment_start:
                index += 1  # over before this segment, hence before every later one
                continue
            if paused >= segment_end:
                break  # begins after this segment
            if paused > segment_start:
                yield segment_start, paused
            if resumed is None:
                return  # the clock stands still from here on
            segment_start = resumed  # beyond segment_end if the pause outlasts the segment
        if segment_start <= segment_end:
            yield segment_start, segment_end
