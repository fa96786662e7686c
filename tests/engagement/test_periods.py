"""Rule periods: consecutive windows anchored on a Monday and on calendar months, so every run and
every process agrees where a period starts (the key of a generated task)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.engagement.periods import DAY, MONTH, WEEK, Period, add_months, period_next, period_of

D = dt.date


@pytest.mark.parametrize(
    ("unit", "interval", "day", "expected"),
    [
        (MONTH, 1, D(2026, 1, 31), Period(D(2026, 1, 1), D(2026, 1, 31))),
        (MONTH, 1, D(2026, 2, 1), Period(D(2026, 2, 1), D(2026, 2, 28))),
        (MONTH, 1, D(2028, 2, 29), Period(D(2028, 2, 1), D(2028, 2, 29))),
        # every 3 months is the calendar quarter
        (MONTH, 3, D(2026, 5, 20), Period(D(2026, 4, 1), D(2026, 6, 30))),
        (MONTH, 3, D(2026, 12, 31), Period(D(2026, 10, 1), D(2026, 12, 31))),
        (MONTH, 3, D(2023, 11, 5), Period(D(2023, 10, 1), D(2023, 12, 31))),  # before the anchor
        # weeks start on Monday; two weeks pair up from the anchor (2024-01-01)
        (WEEK, 1, D(2026, 5, 31), Period(D(2026, 5, 25), D(2026, 5, 31))),
        (WEEK, 2, D(2024, 1, 14), Period(D(2024, 1, 1), D(2024, 1, 14))),
        (WEEK, 2, D(2024, 1, 15), Period(D(2024, 1, 15), D(2024, 1, 28))),
        (DAY, 30, D(2024, 1, 30), Period(D(2024, 1, 1), D(2024, 1, 30))),
        (DAY, 30, D(2024, 1, 31), Period(D(2024, 1, 31), D(2024, 2, 29))),
    ],
)
def test_the_period_of_a_day(unit, interval, day, expected):
    assert period_of(unit, interval, day) == expected


def test_months_keep_to_the_target_month():
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)
    assert add_months(D(2026, 12, 15), 1) == D(2027, 1, 15)


def test_a_bad_unit_or_interval_is_refused():
    with pytest.raises(ValueError):
        period_of("year", 1, D(2026, 1, 1))
    with pytest.raises(ValueError):
        period_of(MONTH, 0, D(2026, 1, 1))


@given(
    unit=st.sampled_from([DAY, WEEK, MONTH]),
    interval=st.integers(min_value=1, max_value=12),
    day=st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31)),
)
def test_periods_tile_the_calendar(unit, interval, day):
    # every day is in exactly one period, and the next period starts the day after this one ends
    period = period_of(unit, interval, day)
    assert day in period
    assert period_of(unit, interval, period.start) == period
    assert period_of(unit, interval, period.end) == period
    following = period_next(unit, interval, period)
    assert following.start == period.end + dt.timedelta(days=1)
