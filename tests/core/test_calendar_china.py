"""The pure calendar functions: festival dates, birthdays (solar and lunar), anniversaries, and the
in-memory working-day calendar. No database.

Expected dates are published facts, not the library's output: the State Council's holiday notices
(春节 2025-01-29, 中秋 2025-10-06 inside the National Day holiday, 端午 2026-06-19 …), the
leap months of the published almanac (闰四月 2020 and 2012, 闰二月 2023, 闰六月 2025), and the
years 2025–2029 that have no 腊月三十 (除夕 is the 29th).
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from guanxi.core.china.calendar import (
    BirthdayCalendar,
    CalendarMissing,
    DayKind,
    FestivalKey,
    WorkingCalendar,
    anniversary_next,
    birthday_next,
    chinese_calendar_days,
    chinese_calendar_years,
    festival_date,
    festivals,
    festivals_between,
    lunar_birthday_in_year,
    lunar_from_solar,
    lunar_month_day_display,
    qingming_date,
    solar_birthday_in_year,
)
from guanxi.core.exceptions import ApplicationError

D = dt.date
LUNAR = BirthdayCalendar.LUNAR

# --- festivals ----------------------------------------------------------------------------------

KNOWN_FESTIVALS = [
    # (key, year, date): from the State Council's notices and the almanac
    ("spring_festival", 2024, D(2024, 2, 10)),
    ("spring_festival", 2025, D(2025, 1, 29)),
    ("spring_festival", 2026, D(2026, 2, 17)),
    ("spring_festival", 2027, D(2027, 2, 6)),
    ("chinese_new_years_eve", 2025, D(2025, 1, 28)),
    ("chinese_new_years_eve", 2026, D(2026, 2, 16)),
    ("lantern_festival", 2025, D(2025, 2, 12)),
    ("lantern_festival", 2026, D(2026, 3, 3)),
    ("tomb_sweeping_day", 2024, D(2024, 4, 4)),
    ("tomb_sweeping_day", 2025, D(2025, 4, 4)),
    ("tomb_sweeping_day", 2026, D(2026, 4, 5)),
    ("dragon_boat_festival", 2024, D(2024, 6, 10)),
    ("dragon_boat_festival", 2025, D(2025, 5, 31)),
    ("dragon_boat_festival", 2026, D(2026, 6, 19)),
    ("qixi_festival", 2025, D(2025, 8, 29)),
    ("mid_autumn_festival", 2024, D(2024, 9, 17)),
    ("mid_autumn_festival", 2025, D(2025, 10, 6)),
    ("mid_autumn_festival", 2026, D(2026, 9, 25)),
    ("double_ninth_festival", 2025, D(2025, 10, 29)),
    ("new_years_day", 2026, D(2026, 1, 1)),
    ("labour_day", 2026, D(2026, 5, 1)),
    ("national_day", 2026, D(2026, 10, 1)),
]


@pytest.mark.parametrize(("key", "year", "expected"), KNOWN_FESTIVALS)
def test_festival_dates_match_the_published_ones(key, year, expected):
    assert festival_date(key, year) == expected


def test_every_festival_once_a_year_in_date_order_with_a_label():
    # given the festivals of 2026
    found = festivals(2026)
    # then each key once, sorted, each with a label
    assert sorted(f.key for f in found) == sorted(FestivalKey.values)
    assert [f.date for f in found] == sorted(f.date for f in found)
    with translation.override("en"):
        labels = {f.key: f.label for f in found}
    assert labels["mid_autumn_festival"] == "Mid-Autumn Festival"
    assert all(labels.values())
    lunar = {f.key for f in found if f.lunar}
    assert "spring_festival" in lunar and "national_day" not in lunar


@pytest.mark.parametrize("year", list(chinese_calendar_years()))
def test_statutory_festivals_fall_on_chinese_calendars_holidays(year):
    """An independent check against every year of chinese-calendar's data: the festival day
    itself is a day off for that holiday (中秋 2025 lies inside the National Day holiday)."""
    expected = {
        "spring_festival": {"Spring Festival"},
        "dragon_boat_festival": {"Dragon Boat Festival"},
        "tomb_sweeping_day": {"Tomb-sweeping Day"},
        "mid_autumn_festival": {"Mid-autumn Festival", "National Day"},
        "national_day": {"National Day", "Mid-autumn Festival"},
        "labour_day": {"Labour Day"},
        "new_years_day": {"New Year's Day"},
    }
    # 清明, 端午 and 中秋 became statutory holidays in 2008.
    keys = expected if year >= 2008 else {"spring_festival", "national_day", "labour_day"}
    for key in keys:
        day = festival_date(key, year)
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        assert is_holiday, (key, day)
        if name is None:
            # Some years list only the weekdays of a holiday (端午 2012 fell on a Saturday):
            # the weekend day belongs to the holiday of the days next to it.
            assert day.weekday() >= 5, (key, day)
            around = [day + dt.timedelta(days=delta) for delta in (-2, -1, 1, 2)]
            names = {chinese_calendar.get_holiday_detail(other)[1] for other in around}
            assert names & expected[key], (key, day, names)
        else:
            assert name in expected[key], (key, day, name)


def test_qingming_is_the_solar_term_in_early_april():
    for year in range(1950, 2100):
        assert D(year, 4, 4) <= qingming_date(year) <= D(year, 4, 6)


def test_festivals_between_spans_years():
    found = festivals_between(D(2025, 12, 25), D(2026, 2, 17))
    assert [(f.key, f.date) for f in found] == [
        ("new_years_day", D(2026, 1, 1)),
        ("chinese_new_years_eve", D(2026, 2, 16)),
        ("spring_festival", D(2026, 2, 17)),
    ]


def test_festival_year_out_of_range_and_unknown_key_are_field_errors():
    with pytest.raises(ValidationError):
        festivals(2100)
    with pytest.raises(ValidationError):
        festival_date("christmas", 2026)


# --- solar birthdays and anniversaries ----------------------------------------------------------


def test_solar_birthday_today_counts_and_tomorrow_is_next_year():
    assert birthday_next(month=3, day=8, on_or_after=D(2026, 3, 8)) == D(2026, 3, 8)
    assert birthday_next(month=3, day=8, on_or_after=D(2026, 3, 9)) == D(2027, 3, 8)


def test_29_february_falls_on_28_february_in_a_common_year():
    assert birthday_next(month=2, day=29, on_or_after=D(2025, 3, 1)) == D(2026, 2, 28)
    assert birthday_next(month=2, day=29, on_or_after=D(2027, 3, 1)) == D(2028, 2, 29)
    assert solar_birthday_in_year(2, 29, 2100) == D(2100, 2, 28)  # 2100 is not a leap year


def test_invalid_solar_birthday_is_a_validation_error():
    with pytest.raises(ValidationError):
        birthday_next(month=2, day=30, on_or_after=D(2026, 1, 1))
    with pytest.raises(ValidationError):
        birthday_next(month=13, day=1, on_or_after=D(2026, 1, 1))


def test_anniversary_counts_years_and_skips_the_day_itself():
    start = D(2019, 3, 15)
    assert anniversary_next(start, on_or_after=D(2026, 3, 15)).years == 7
    assert anniversary_next(start, on_or_after=D(2026, 3, 16)) == (
        anniversary_next(start, on_or_after=D(2027, 1, 1))
    )
    assert anniversary_next(start, on_or_after=D(2026, 3, 16)).date == D(2027, 3, 15)
    # the day the customer was won is not its own anniversary
    first = anniversary_next(start, on_or_after=D(2019, 3, 15))
    assert (first.date, first.years) == (D(2020, 3, 15), 1)
    leap = anniversary_next(D(2024, 2, 29), on_or_after=D(2025, 1, 1))
    assert (leap.date, leap.years) == (D(2025, 2, 28), 1)


# --- lunar birthdays ----------------------------------------------------------------------------


def test_lunar_birthday_in_an_ordinary_year():
    # 正月十五 falls on 元宵: 2026-03-03
    assert birthday_next(month=1, day=15, calendar=LUNAR, on_or_after=D(2026, 1, 10)) == D(
        2026, 3, 3
    )
    # today counts
    assert birthday_next(month=1, day=15, calendar=LUNAR, on_or_after=D(2026, 3, 3)) == D(
        2026, 3, 3
    )


def test_lunar_birthday_late_in_the_lunar_year_after_the_new_year():
    # 腊月初八 (腊八) of lunar 2025 is 2026-01-26; asked on 2026-01-27 the next is lunar 2026's
    assert birthday_next(month=12, day=8, calendar=LUNAR, on_or_after=D(2026, 1, 26)) == D(
        2026, 1, 26
    )
    after = birthday_next(month=12, day=8, calendar=LUNAR, on_or_after=D(2026, 1, 27))
    assert after == lunar_birthday_in_year(12, 8, 2026)
    assert after.year == 2027


def test_day_30_falls_on_the_29th_when_the_month_is_short():
    # 2025–2029 have no 腊月三十: 除夕 is the 29th (2025-01-28, 2026-02-16)
    assert birthday_next(month=12, day=30, calendar=LUNAR, on_or_after=D(2025, 1, 1)) == D(
        2025, 1, 28
    )
    assert birthday_next(month=12, day=30, calendar=LUNAR, on_or_after=D(2025, 2, 1)) == D(
        2026, 2, 16
    )
    # 2024's 腊月 had a 30th: 2024-02-09
    assert lunar_birthday_in_year(12, 30, 2023) == D(2024, 2, 9)


def test_leap_month_birthday_uses_the_leap_month_when_the_year_has_it():
    # born 2020-06-01, which is 闰四月初十 of 2020
    born = lunar_from_solar(D(2020, 6, 1))
    assert (born.year, born.month, born.day, born.is_leap_month) == (2020, 4, 10, True)
    # 2012 has a 闰四月 (from 2012-05-21): the birthday falls in it, on 2012-05-30
    assert lunar_birthday_in_year(4, 10, 2012, is_leap_month=True) == D(2012, 5, 30)
    # 2021 has no leap month: the ordinary 四月初十, 2021-05-21
    assert birthday_next(
        month=4, day=10, calendar=LUNAR, is_leap_month=True, on_or_after=D(2021, 1, 1)
    ) == D(2021, 5, 21)


def test_ordinary_month_birthday_never_moves_into_a_leap_month():
    # 2012: ordinary 四月初十 is 2012-04-30, the leap one a month later
    assert lunar_birthday_in_year(4, 10, 2012) == D(2012, 4, 30)
    assert birthday_next(month=4, day=10, calendar=LUNAR, on_or_after=D(2012, 5, 1)) == D(
        2013, 5, 19
    )
    # 2025 has 闰六月 from 2025-07-25: 六月初一 is 2025-06-25, the leap one 2025-07-25
    assert lunar_birthday_in_year(6, 1, 2025) == D(2025, 6, 25)
    assert lunar_birthday_in_year(6, 1, 2025, is_leap_month=True) == D(2025, 7, 25)
    # a leap 二月 birthday in 2023 (闰二月 from 2023-03-22)
    assert lunar_birthday_in_year(2, 1, 2023, is_leap_month=True) == D(2023, 3, 22)


def test_lunar_round_trip_for_every_day_of_a_leap_year():
    day = D(2025, 1, 1)
    while day.year == 2025:
        lunar = lunar_from_solar(day)
        assert (
            lunar_birthday_in_year(
                lunar.month, lunar.day, lunar.year, is_leap_month=lunar.is_leap_month
            )
            == day
        )
        day += dt.timedelta(days=1)


def test_lunar_input_and_range_errors():
    with pytest.raises(ValidationError):
        birthday_next(month=13, day=1, calendar=LUNAR, on_or_after=D(2026, 1, 1))
    with pytest.raises(ValidationError):
        birthday_next(month=1, day=31, calendar=LUNAR, on_or_after=D(2026, 1, 1))
    with pytest.raises(ValidationError):
        lunar_from_solar(D(1900, 1, 30))  # before lunardate's table: it would answer nonsense
    with pytest.raises(ValidationError):
        lunar_from_solar(D(2100, 2, 9))
    with pytest.raises(ValidationError):
        birthday_next(month=1, day=1, calendar="julian", on_or_after=D(2026, 1, 1))


def test_lunar_display_in_chinese_and_english():
    with translation.override("zh-hans"):
        assert lunar_month_day_display(4, 28, is_leap_month=True) == "闰四月廿八"
        assert lunar_month_day_display(1, 1) == "正月初一"
        assert lunar_month_day_display(12, 30) == "腊月三十"
        assert lunar_month_day_display(11, 20) == "冬月二十"
        assert lunar_month_day_display(8, 15) == "八月十五"
    with translation.override("en"):
        assert lunar_month_day_display(4, 28, is_leap_month=True) == "Lunar 4/28 (leap month)"


# --- the working-day calendar in memory ---------------------------------------------------------


def _calendar(**kwargs):
    """2026 as chinese-calendar has it, 2026 covered."""
    days = {d.date: (d.kind, d.holiday) for d in chinese_calendar_days(2026)}
    return WorkingCalendar(days=days, covered_years=kwargs.pop("covered", [2026]), **kwargs)


def test_weekdays_weekends_holidays_and_adjusted_working_days():
    calendar = _calendar()
    assert calendar.is_working_day(D(2026, 3, 2))  # a Monday
    assert not calendar.is_working_day(D(2026, 3, 7))  # a Saturday
    assert not calendar.is_working_day(D(2026, 2, 17))  # 春节, a Tuesday
    assert calendar.is_working_day(D(2026, 2, 14))  # 调休: a Saturday worked
    assert calendar.holiday(D(2026, 2, 17)) == "spring_festival"
    assert calendar.holiday(D(2026, 2, 14)) is None
    info = calendar.day_info(D(2026, 2, 14))
    assert (info.working, info.kind, info.holiday) == (True, DayKind.WORKDAY, "spring_festival")
    assert calendar.day_info(D(2026, 3, 7)).kind == "weekend"


def test_next_and_previous_working_day_skip_the_holiday():
    calendar = _calendar()
    # 春节 2026: 2-15 to 2-23 off, 2-14 and 2-28 worked
    assert calendar.next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)
    assert calendar.next_working_day(D(2026, 2, 14), include_start=True) == D(2026, 2, 14)
    assert calendar.previous_working_day(D(2026, 2, 24)) == D(2026, 2, 14)
    assert calendar.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert calendar.add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 8)
    assert calendar.add_working_days(D(2026, 10, 8), -1) == D(2026, 9, 30)
    assert calendar.count_working_days(D(2026, 2, 1), D(2026, 2, 28)) == sum(
        chinese_calendar.is_workday(D(2026, 2, day)) for day in range(1, 29)
    )


def test_a_year_that_is_not_covered_raises_calendar_missing_with_the_year():
    calendar = _calendar()
    with pytest.raises(CalendarMissing) as caught:
        calendar.is_working_day(D(2027, 1, 4))
    error = caught.value
    assert isinstance(error, ApplicationError)
    assert (error.code, error.year, error.extra) == ("calendar_missing", 2027, {"year": 2027})
    assert error.status_code == 409
    with translation.override("en"):
        assert "2027" in str(CalendarMissing(2027).message)


def test_walking_into_a_missing_year_raises_instead_of_guessing():
    calendar = _calendar()
    # the last working day of 2026 is 12-31 (Thursday); the next one is in 2027
    assert calendar.is_working_day(D(2026, 12, 31))
    with pytest.raises(CalendarMissing):
        calendar.next_working_day(D(2026, 12, 31))
    with pytest.raises(CalendarMissing):
        list(calendar.working_days(D(2026, 12, 1), D(2027, 1, 31)))


def test_a_year_with_rows_but_not_complete_is_still_missing():
    calendar = _calendar(covered=[])
    with pytest.raises(CalendarMissing):
        calendar.is_working_day(D(2026, 3, 2))


def test_a_year_outside_the_loaded_range_is_a_programming_error():
    calendar = _calendar(loaded_years=range(2026, 2027))
    assert calendar.is_working_day(D(2026, 3, 2))
    with pytest.raises(ValueError):
        calendar.is_working_day(D(2025, 3, 3))


def test_ordinary_rows_are_ignored():
    calendar = WorkingCalendar(days={D(2026, 2, 17): (DayKind.ORDINARY, "")}, covered_years=[2026])
    assert calendar.is_working_day(D(2026, 2, 17))
