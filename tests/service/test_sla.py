"""The SLA clock (guanxi.service.sla): working hours on China's working days, pauses, and a
missing holiday year that refuses to guess.

Dates checked against chinese-calendar 1.11 (2026): Spring Festival off 15–23 Feb, worked
Saturdays 14 and 28 Feb; National Day off 1–7 Oct, worked Sunday 20 Sep and Saturday 10 Oct;
New Year off 1–3 Jan, worked Sunday 4 Jan.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.core.china.calendar import CalendarMissing, WorkingCalendar, chinese_calendar_days
from guanxi.core.selectors import working_calendar_load
from guanxi.service.sla import (
    ALWAYS,
    WORKING_HOURS,
    SlaCalendar,
    add_working_time,
    deadline_with_pauses,
    elapsed_with_pauses,
    working_intervals,
    working_time_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


@functools.cache
def china(*years: int) -> WorkingCalendar:
    """The working days of ``years`` as chinese-calendar has them, those years covered."""
    days = {
        seed.date: (seed.kind, seed.holiday)
        for year in years
        for seed in chinese_calendar_days(year)
    }
    return WorkingCalendar(days=days, covered_years=years)


def office(*years: int, intervals=None) -> SlaCalendar:
    if intervals is None:
        return SlaCalendar(mode=WORKING_HOURS, working_days=china(*years))
    return SlaCalendar(mode=WORKING_HOURS, working_days=china(*years), intervals=intervals)


def at(year, month, day, hour=0, minute=0, zone=SHANGHAI) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


OFFICE = office(2025, 2026)
LUNCH = office(2025, 2026, intervals=((dt.time(9), dt.time(12)), (dt.time(13, 30), dt.time(18))))
ALWAYS_ON = SlaCalendar(mode=ALWAYS)


# --- working hours ------------------------------------------------------------------------------


def test_working_time_within_one_day():
    # given a Monday morning
    start = at(2026, 3, 2, 10)
    # then two working hours later is noon, and the time between them is two hours
    assert add_working_time(start, 2 * H, OFFICE) == at(2026, 3, 2, 12)
    assert working_time_between(start, at(2026, 3, 2, 12), OFFICE) == 2 * H


def test_deadline_at_closing_time_stays_there_and_a_minute_more_is_the_next_morning():
    start = at(2026, 3, 2, 10)
    assert add_working_time(start, 8 * H, OFFICE) == at(2026, 3, 2, 18)
    assert add_working_time(start, 8 * H + M, OFFICE) == at(2026, 3, 3, 9, 1)


def test_weekend_is_skipped():
    # given Friday 6 March 2026, 17:00
    start = at(2026, 3, 6, 17)
    # then two working hours run to Monday 10:00
    assert add_working_time(start, 2 * H, OFFICE) == at(2026, 3, 9, 10)
    assert working_time_between(start, at(2026, 3, 9, 10), OFFICE) == 2 * H
    # and nothing at all is worked on the weekend
    assert working_time_between(at(2026, 3, 7, 0), at(2026, 3, 9, 0), OFFICE) == dt.timedelta(0)


def test_start_outside_working_time_waits_for_the_next_working_moment():
    # a Saturday, an evening, an early morning
    assert add_working_time(at(2026, 3, 7, 11), H, OFFICE) == at(2026, 3, 9, 10)
    assert add_working_time(at(2026, 3, 2, 20), H, OFFICE) == at(2026, 3, 3, 10)
    assert add_working_time(at(2026, 3, 3, 7), H, OFFICE) == at(2026, 3, 3, 10)


def test_zero_duration():
    zero = dt.timedelta(0)
    # outside working time: the next working moment
    assert add_working_time(at(2026, 3, 7, 11), zero, OFFICE) == at(2026, 3, 9, 9)
    # inside, or exactly at closing time (which counts as inside): the moment itself
    assert add_working_time(at(2026, 3, 2, 11, 5), zero, OFFICE) == at(2026, 3, 2, 11, 5)
    assert add_working_time(at(2026, 3, 2, 18), zero, OFFICE) == at(2026, 3, 2, 18)


def test_national_day_holiday_is_skipped():
    # given Wednesday 30 September 2026, 17:00; 1–7 October are off
    start = at(2026, 9, 30, 17)
    # then two working hours run to Thursday 8 October, 10:00
    assert add_working_time(start, 2 * H, OFFICE) == at(2026, 10, 8, 10)
    assert working_time_between(start, at(2026, 10, 8, 10), OFFICE) == 2 * H


def test_adjusted_working_saturday_counts():
    # given Friday 27 February 2026, 17:00; Saturday 28 February is an adjusted working day
    start = at(2026, 2, 27, 17)
    # then two working hours end on that Saturday, not on Monday
    assert add_working_time(start, 2 * H, OFFICE) == at(2026, 2, 28, 10)
    # and so does the worked Sunday 4 January 2026 after the New Year holiday (1–3 January)
    assert add_working_time(at(2025, 12, 31, 17), 2 * H, OFFICE) == at(2026, 1, 4, 10)


def test_48_hour_resolution_target_across_the_spring_festival():
    # given a ticket opened on Friday 13 February 2026 at 10:00, before the Spring Festival
    start = at(2026, 2, 13, 10)
    # then 48 working hours are: Fri 8 h, the worked Saturday 14th 9 h, holidays 15–23 Feb,
    # Tue 24th to Thu 26th 27 h, and 4 h on Friday 27th
    assert add_working_time(start, 48 * H, OFFICE) == at(2026, 2, 27, 13)
    assert working_time_between(start, at(2026, 2, 27, 13), OFFICE) == 48 * H
    # whereas a 24×7 target of 48 h ignores the holiday
    assert add_working_time(start, 48 * H, ALWAYS_ON) == at(2026, 2, 15, 10)


def test_lunch_break_is_not_working_time():
    # given working hours 09:00–12:00 and 13:30–18:00
    start = at(2026, 3, 2, 11)
    assert add_working_time(start, H, LUNCH) == at(2026, 3, 2, 12)
    assert add_working_time(start, H + M, LUNCH) == at(2026, 3, 2, 13, 31)
    assert add_working_time(start, 2 * H, LUNCH) == at(2026, 3, 2, 14, 30)
    # a start during the break waits for the afternoon
    assert add_working_time(at(2026, 3, 2, 12, 30), H, LUNCH) == at(2026, 3, 2, 14, 30)
    assert working_time_between(start, at(2026, 3, 2, 14, 30), LUNCH) == 2 * H
    # a whole day is 7.5 hours
    assert working_time_between(at(2026, 3, 2), at(2026, 3, 3), LUNCH) == 7 * H + 30 * M


def test_working_intervals_from_team_hours():
    assert working_intervals(dt.time(9), dt.time(18)) == ((dt.time(9), dt.time(18)),)
    assert working_intervals(dt.time(9), dt.time(18), dt.time(12), dt.time(13, 30)) == (
        (dt.time(9), dt.time(12)),
        (dt.time(13, 30), dt.time(18)),
    )
    with pytest.raises(ValueError):
        working_intervals(dt.time(9), dt.time(18), dt.time(12), None)
    with pytest.raises(ValueError):
        working_intervals(dt.time(9), dt.time(18), dt.time(17), dt.time(19))


def test_start_given_in_utc_is_counted_in_the_calendar_time_zone():
    # given 00:30 UTC, that is 08:30 in Shanghai on Monday 2 March 2026
    start = dt.datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    # then one working hour ends at 10:00 Shanghai time, returned in Shanghai time
    found = add_working_time(start, H, OFFICE)
    assert found == at(2026, 3, 2, 10)
    assert found.utcoffset() == dt.timedelta(hours=8)
    assert found == dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    # and Sunday 23:00 UTC is already Monday 07:00 in Shanghai
    assert add_working_time(dt.datetime(2026, 3, 1, 23, tzinfo=UTC), H, OFFICE) == at(
        2026, 3, 2, 10
    )


def test_other_time_zone_and_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    # 24×7 counts elapsed time: 24 h across the switch to summer time (29 March 2026)
    always = SlaCalendar(mode=ALWAYS, timezone=berlin)
    start = at(2026, 3, 28, 12, zone=berlin)
    assert add_working_time(start, 24 * H, always) == at(2026, 3, 29, 13, zone=berlin)
    assert working_time_between(start, at(2026, 3, 29, 13, zone=berlin), always) == 24 * H
    # working hours are wall-clock hours of the calendar's zone
    berlin_office = SlaCalendar(mode=WORKING_HOURS, timezone=berlin, working_days=china(2026))
    found = add_working_time(at(2026, 3, 2, 17, zone=berlin), 2 * H, berlin_office)
    assert found == at(2026, 3, 3, 10, zone=berlin)
    assert found.tzinfo is berlin


# --- 24×7 ---------------------------------------------------------------------------------------


def test_always_on_is_plain_addition_and_needs_no_holiday_table():
    start = at(2026, 12, 31, 20)
    # a year the holiday table does not cover does not matter around the clock
    assert add_working_time(start, 24 * H, ALWAYS_ON) == at(2027, 1, 1, 20)
    assert working_time_between(start, at(2027, 1, 3, 20), ALWAYS_ON) == 72 * H
    assert working_time_between(at(2027, 1, 3), start, ALWAYS_ON) == dt.timedelta(0)


# --- a missing year -----------------------------------------------------------------------------


def test_missing_year_raises_instead_of_guessing():
    only_2026 = office(2026)
    # a deadline that stays in 2026 is fine, up to closing time on 31 December
    assert add_working_time(at(2026, 12, 31, 10), 8 * H, only_2026) == at(2026, 12, 31, 18)
    # one that needs 2027 is not
    with pytest.raises(CalendarMissing) as raised:
        add_working_time(at(2026, 12, 31, 17), 2 * H, only_2026)
    assert raised.value.year == 2027
    assert raised.value.code == "calendar_missing"
    # nor is a start in 2027, even with zero duration, nor a span reaching into it
    with pytest.raises(CalendarMissing):
        add_working_time(at(2027, 1, 4, 10), dt.timedelta(0), only_2026)
    with pytest.raises(CalendarMissing):
        add_working_time(at(2026, 12, 31, 20), dt.timedelta(0), only_2026)
    with pytest.raises(CalendarMissing):
        working_time_between(at(2026, 12, 31, 10), at(2027, 1, 4, 10), only_2026)
    with pytest.raises(CalendarMissing):
        deadline_with_pauses(at(2026, 12, 31, 17), 2 * H, only_2026, [])
    # but a span ending at midnight on 31 December needs nothing from 2027
    assert working_time_between(at(2026, 12, 31, 10), at(2027, 1, 1), only_2026) == 8 * H


def test_missing_year_in_the_middle_of_the_walk():
    # given 2025 covered, 2026 not, 2027 covered (an administrator skipped a year)
    gap = SlaCalendar(
        mode=WORKING_HOURS,
        working_days=WorkingCalendar(days={}, covered_years=(2025, 2027)),
    )
    with pytest.raises(CalendarMissing) as raised:
        add_working_time(at(2025, 12, 31, 10), 100 * H, gap)
    assert raised.value.year == 2026


@pytest.mark.django_db
def test_calendar_loaded_from_the_seeded_table():
    # given the holiday table as the migrations seed it (2004–2026, 2027 not covered)
    calendar = SlaCalendar(
        mode=WORKING_HOURS, working_days=working_calendar_load(years=range(2025, 2028))
    )
    # then it answers as chinese-calendar does
    assert add_working_time(at(2026, 2, 27, 17), 2 * H, calendar) == at(2026, 2, 28, 10)
    assert add_working_time(at(2026, 9, 30, 17), 2 * H, calendar) == at(2026, 10, 8, 10)
    # and refuses 2027
    with pytest.raises(CalendarMissing):
        add_working_time(at(2026, 12, 31, 17), 2 * H, calendar)


# --- pauses -------------------------------------------------------------------------------------


def test_closed_pause_in_working_time_moves_the_deadline():
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 10), at(2026, 3, 2, 12))]
    # 4 h target: 1 h before the pause, 3 h after it
    assert deadline_with_pauses(start, 4 * H, OFFICE, pauses) == at(2026, 3, 2, 15)
    assert elapsed_with_pauses(start, at(2026, 3, 2, 15), OFFICE, pauses) == 4 * H
    assert elapsed_with_pauses(start, at(2026, 3, 2, 11), OFFICE, pauses) == H


def test_pause_outside_working_time_changes_nothing():
    start = at(2026, 3, 6, 17)
    weekend = [(at(2026, 3, 6, 18), at(2026, 3, 9, 9))]
    assert deadline_with_pauses(start, 2 * H, OFFICE, weekend) == at(2026, 3, 9, 10)


def test_overlapping_unsorted_pauses_count_once():
    start = at(2026, 3, 2, 9)
    pauses = [
        (at(2026, 3, 2, 11), at(2026, 3, 2, 13)),
        (at(2026, 3, 2, 10), at(2026, 3, 2, 12)),  # overlaps the first
        (at(2026, 3, 2, 13), at(2026, 3, 2, 14)),  # touches it
        (at(2026, 3, 1, 20), at(2026, 3, 2, 9, 30)),  # began before the ticket
        (at(2026, 2, 20), at(2026, 2, 21)),  # over before the ticket: ignored
    ]
    # working 09:30–10:00 and 14:00 on: 0.5 h + 3.5 h
    assert deadline_with_pauses(start, 4 * H, OFFICE, pauses) == at(2026, 3, 2, 17, 30)
    assert elapsed_with_pauses(start, at(2026, 3, 2, 18), OFFICE, pauses) == 4 * H + 30 * M


def test_open_pause_means_no_deadline_and_a_frozen_elapsed_time():
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 10), at(2026, 3, 2, 11)), (at(2026, 3, 2, 12), None)]
    assert deadline_with_pauses(start, 4 * H, OFFICE, pauses) is None
    # elapsed stops growing when the pause begins: 1 h + 1 h
    assert elapsed_with_pauses(start, at(2026, 3, 5, 12), OFFICE, pauses) == 2 * H
    # an open pause from before the start stops the clock from the start
    before = [(at(2026, 3, 1), None)]
    assert deadline_with_pauses(start, H, OFFICE, before) is None
    assert elapsed_with_pauses(start, at(2026, 3, 5), OFFICE, before) == dt.timedelta(0)


def test_open_pause_after_the_target_ran_out_keeps_the_breach():
    # given a 2 h target that ran out at 11:00, and a pause opened at 15:00
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 15), None)]
    assert deadline_with_pauses(start, 2 * H, OFFICE, pauses) == at(2026, 3, 2, 11)


def test_open_pause_does_not_ask_about_a_missing_year():
    # the clock stopped in 2026; what 2027 looks like does not matter until it resumes
    only_2026 = office(2026)
    pauses = [(at(2026, 12, 31, 16), None)]
    assert deadline_with_pauses(at(2026, 12, 31, 15), 8 * H, only_2026, pauses) is None


def test_pauses_around_the_clock():
    start = at(2026, 3, 2, 9)
    pauses = [(at(2026, 3, 2, 10), at(2026, 3, 2, 22))]
    assert deadline_with_pauses(start, 24 * H, ALWAYS_ON, pauses) == at(2026, 3, 3, 21)
    assert deadline_with_pauses(start, 24 * H, ALWAYS_ON, [(at(2026, 3, 2, 10), None)]) is None


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError):
        add_working_time(dt.datetime(2026, 3, 2, 10), H, OFFICE)  # noqa: DTZ001 naive on purpose
    with pytest.raises(ValueError):
        add_working_time(at(2026, 3, 2, 10), -M, OFFICE)
    with pytest.raises(ValueError):
        working_time_between(at(2026, 3, 2), dt.datetime(2026, 3, 3), OFFICE)  # noqa: DTZ001
    with pytest.raises(ValueError):
        deadline_with_pauses(at(2026, 3, 2), H, OFFICE, [(at(2026, 3, 2, 12), at(2026, 3, 2, 11))])


@pytest.mark.parametrize(
    "arguments",
    [
        {"mode": "sometimes"},
        {"mode": WORKING_HOURS},  # no working days
        {"mode": ALWAYS, "timezone": "Asia/Shanghai"},
        {"mode": ALWAYS, "intervals": ()},
        {"mode": ALWAYS, "intervals": ((dt.time(18), dt.time(9)),)},
        {"mode": ALWAYS, "intervals": ((dt.time(9), dt.time(9)),)},
        {"mode": ALWAYS, "intervals": ((dt.time(9), dt.time(13)), (dt.time(12), dt.time(18)))},
        {"mode": ALWAYS, "intervals": ((dt.time(13), dt.time(18)), (dt.time(9), dt.time(12)))},
        {"mode": ALWAYS, "intervals": ((dt.time(9, tzinfo=UTC), dt.time(18, tzinfo=UTC)),)},
        {"mode": ALWAYS, "intervals": (("09:00", "18:00"),)},
    ],
)
def test_nonsense_calendar_is_refused(arguments):
    with pytest.raises(ValueError):
        SlaCalendar(**arguments)


def test_calendar_defaults():
    calendar = SlaCalendar(mode=WORKING_HOURS, working_days=china(2026))
    assert calendar.timezone == SHANGHAI
    assert calendar.intervals == ((dt.time(9), dt.time(18)),)
    # lists are accepted and kept as tuples
    listed = SlaCalendar(mode=ALWAYS, intervals=[[dt.time(9), dt.time(12)]])
    assert listed.intervals == ((dt.time(9), dt.time(12)),)
    hash(listed)


# --- speed --------------------------------------------------------------------------------------


def test_long_targets_are_computed_by_the_day_not_by_the_minute():
    # 30 working days of 9 h from Monday 5 January 2026, 09:00, end on the 30th working day
    start = at(2026, 1, 5, 9)
    last_day = china(2025, 2026).add_working_days(dt.date(2026, 1, 5), 29)
    began = time.perf_counter()
    assert add_working_time(start, 30 * 9 * H, OFFICE) == dt.datetime.combine(
        last_day, dt.time(18), tzinfo=SHANGHAI
    )
    # and twenty-three years of working time, 2004 to 2026, in well under a second
    everything = office(*range(2004, 2027))
    whole = working_time_between(at(2004, 1, 1), at(2027, 1, 1), everything)
    assert add_working_time(at(2004, 1, 1), whole, everything) == at(2026, 12, 31, 18)
    assert time.perf_counter() - began < 1.5


# --- properties ---------------------------------------------------------------------------------

PROPERTIES = settings(max_examples=200, deadline=None)
calendars = st.sampled_from([OFFICE, LUNCH, ALWAYS_ON])
starts = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),  # noqa: DTZ001 hypothesis wants naive bounds
    max_value=dt.datetime(2026, 6, 30),  # noqa: DTZ001
    timezones=st.sampled_from([SHANGHAI, UTC]),
)
durations = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(hours=400))


def in_working_time(moment: dt.datetime, calendar: SlaCalendar) -> bool:
    if calendar.mode == ALWAYS:
        return True
    local = moment.astimezone(calendar.timezone)
    return calendar.working_days.is_working_day(local.date()) and any(
        opens <= local.time() <= closes for opens, closes in calendar.intervals
    )


@PROPERTIES
@given(calendars, starts, durations)
def test_property_deadline_lies_in_working_time_and_is_the_earliest(calendar, start, duration):
    found = add_working_time(start, duration, calendar)
    assert found >= start
    assert found.tzinfo is calendar.timezone
    assert in_working_time(found, calendar)
    # the round trip, and no earlier moment would do
    assert working_time_between(start, found, calendar) == duration
    if duration:
        tick = dt.timedelta(microseconds=1)
        assert working_time_between(start, found - tick, calendar) < duration


@PROPERTIES
@given(calendars, starts, durations, durations)
def test_property_monotonic_in_duration(calendar, start, first, second):
    shorter, longer = sorted((first, second))
    assert add_working_time(start, shorter, calendar) <= add_working_time(start, longer, calendar)


@PROPERTIES
@given(calendars, starts, starts, durations)
def test_property_monotonic_in_start(calendar, first, second, duration):
    earlier, later = sorted((first, second))
    assert add_working_time(earlier, duration, calendar) <= add_working_time(
        later, duration, calendar
    )


@PROPERTIES
@given(calendars, starts, durations, durations)
def test_property_additive(calendar, start, first, second):
    # holds for a zero second part too: the first deadline already lies in working time
    step = add_working_time(start, first, calendar)
    assert add_working_time(step, second, calendar) == add_working_time(
        start, first + second, calendar
    )


@PROPERTIES
@given(calendars, starts, starts)
def test_property_between_never_exceeds_elapsed_time(calendar, first, second):
    earlier, later = sorted((first, second))
    between = working_time_between(earlier, later, calendar)
    assert dt.timedelta(0) <= between <= later - earlier
    if between:  # zero working time from outside it would wait for the next working moment
        assert add_working_time(earlier, between, calendar) <= later
    assert working_time_between(later, earlier, calendar) == dt.timedelta(0)


# An independent, slow oracle: walk a quarter of an hour at a time (all times on that grid).
QUARTER = dt.timedelta(minutes=15)
GRID_START = at(2025, 1, 1)
GRID_DAYS = (dt.date(2026, 6, 30) - dt.date(2025, 1, 1)).days


def oracle_elapsed(start, end, calendar, pauses=()):
    total = dt.timedelta(0)
    moment = start
    while moment < end:
        paused = any(
            paused_at <= moment and (resumed_at is None or moment < resumed_at)
            for paused_at, resumed_at in pauses
        )
        local = moment.astimezone(calendar.timezone)
        working = calendar.mode == ALWAYS or (
            calendar.working_days.is_working_day(local.date())
            and any(opens <= local.time() < closes for opens, closes in calendar.intervals)
        )
        if working and not paused:
            total += QUARTER
        moment += QUARTER
    return total


grid_moments = st.builds(
    lambda day, quarter: GRID_START + dt.timedelta(days=day) + quarter * QUARTER,
    st.integers(0, GRID_DAYS),
    st.integers(0, 95),
)
grid_pauses = st.lists(
    st.tuples(
        st.integers(-8, 300),  # offset from the start, in quarters (may be before it)
        st.one_of(st.none(), st.integers(0, 80)),  # length in quarters, None = still open
    ),
    max_size=3,
)


@PROPERTIES
@given(calendars, grid_moments, st.integers(0, 5 * 96), grid_pauses)
def test_property_matches_the_quarter_hour_oracle(calendar, start, length, raw_pauses):
    end = start + length * QUARTER
    pauses = [
        (start + offset * QUARTER, None if size is None else start + (offset + size) * QUARTER)
        for offset, size in raw_pauses
    ]
    assert working_time_between(start, end, calendar) == oracle_elapsed(start, end, calendar)
    assert elapsed_with_pauses(start, end, calendar, pauses) == oracle_elapsed(
        start, end, calendar, pauses
    )


@PROPERTIES
@given(calendars, starts, durations, grid_pauses)
def test_property_pauses_only_delay(calendar, start, duration, raw_pauses):
    pauses = [
        (start + offset * QUARTER, None if size is None else start + (offset + size) * QUARTER)
        for offset, size in raw_pauses
    ]
    found = deadline_with_pauses(start, duration, calendar, pauses)
    if found is None:
        # only an open pause stops the clock, and it began before the target ran out
        open_starts = [max(paused, start) for paused, resumed in pauses if resumed is None]
        assert open_starts
        assert elapsed_with_pauses(start, min(open_starts), calendar, pauses) <= duration
        return
    assert found >= add_working_time(start, duration, calendar)
    assert in_working_time(found, calendar)
    assert elapsed_with_pauses(start, found, calendar, pauses) == duration
    if not pauses:
        assert found == add_working_time(start, duration, calendar)
