"""China's calendar: festivals, birthdays and anniversaries, and the working-day calendar.

Pure functions and classes, no database access: the holiday table lives in the database
(``core.models.CalendarDay`` / ``CalendarYear``) and ``core.selectors.working_calendar_load``
turns it into a :class:`WorkingCalendar`, whose checks then run in memory.

Lunar dates come from ``lunardate`` (lunar years 1900–2099), the 清明 solar term and the seed of
the holiday table from ``chinese-calendar`` (statutory arrangements 2004 to its last published
year; it never guesses a later one, and neither do we).

Choices made here, for birthdays and anniversaries:

* 29 February (solar) falls on 28 February in a common year: the greeting stays in the birth
  month, and a day early is better than a day late.
* A lunar day 30 falls on day 29 in a year whose month has only 29 days (the month's last day).
* A birthday in a leap month (闰月) falls in that leap month in a year that has it, otherwise in
  the ordinary month of the same number; a birthday in an ordinary month always falls in the
  ordinary month, never in a leap month of the same number.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import chinese_calendar
from chinese_calendar.constants import Holiday
from chinese_calendar.solar_terms import SolarTerms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from lunardate import LunarDate

from guanxi.core.exceptions import ApplicationError

# Solar years whose festivals and lunar birthdays we can compute: lunardate knows lunar years
# 1900–2099, and the solar year 2100 starts in lunar 2099.
FIRST_YEAR = 1900
LAST_YEAR = 2099


class FestivalKey(models.TextChoices):
    """The festivals of the care calendar. Keys are stable (stored by other apps); the keys of
    the statutory ones are the same as in :class:`HolidayKey`."""

    NEW_YEARS_DAY = "new_years_day", _("New Year's Day")
    CHINESE_NEW_YEARS_EVE = "chinese_new_years_eve", _("Chinese New Year's Eve")
    SPRING_FESTIVAL = "spring_festival", _("Spring Festival")
    LANTERN_FESTIVAL = "lantern_festival", _("Lantern Festival")
    TOMB_SWEEPING_DAY = "tomb_sweeping_day", _("Tomb-sweeping Day")
    LABOUR_DAY = "labour_day", _("Labour Day")
    DRAGON_BOAT_FESTIVAL = "dragon_boat_festival", _("Dragon Boat Festival")
    QIXI_FESTIVAL = "qixi_festival", _("Qixi Festival")
    MID_AUTUMN_FESTIVAL = "mid_autumn_festival", _("Mid-Autumn Festival")
    DOUBLE_NINTH_FESTIVAL = "double_ninth_festival", _("Double Ninth Festival")
    NATIONAL_DAY = "national_day", _("National Day")


class HolidayKey(models.TextChoices):
    """Which statutory holiday a day of the holiday table belongs to (an adjusted working day
    belongs to the holiday it makes up for). The keys are chinese-calendar's ``Holiday`` names."""

    NEW_YEARS_DAY = "new_years_day", _("New Year's Day")
    SPRING_FESTIVAL = "spring_festival", _("Spring Festival")
    TOMB_SWEEPING_DAY = "tomb_sweeping_day", _("Tomb-sweeping Day")
    LABOUR_DAY = "labour_day", _("Labour Day")
    DRAGON_BOAT_FESTIVAL = "dragon_boat_festival", _("Dragon Boat Festival")
    MID_AUTUMN_FESTIVAL = "mid_autumn_festival", _("Mid-Autumn Festival")
    NATIONAL_DAY = "national_day", _("National Day")
    ANTI_FASCIST_70TH_DAY = (
        "anti_fascist_70th_day",
        _("70th anniversary of the victory in the War of Resistance"),
    )
    OTHER = "other", _("Other holiday")


class DayKind(models.TextChoices):
    """A row of the holiday table. A date without a row is an ordinary day: Monday to Friday
    working, Saturday and Sunday rest. ``ordinary`` rows record that an administrator removed a
    day the chinese-calendar package has, so that a re-seed does not bring it back."""

    HOLIDAY = "holiday", _("Holiday (day off)")
    WORKDAY = "workday", _("Adjusted working day")
    ORDINARY = "ordinary", _("Ordinary day")


class BirthdayCalendar(models.TextChoices):
    SOLAR = "solar", _("Solar (Gregorian) calendar")
    LUNAR = "lunar", _("Lunar calendar")


# --- the working-day calendar -------------------------------------------------------------------


class CalendarMissing(ApplicationError):
    """A date in a year the holiday table does not cover (not marked complete): the answer
    would be a guess, so there is none. Pages show "calendar missing" instead of a deadline."""

    status_code = 409
    default_code = "calendar_missing"

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            gettext(
                "The holiday calendar for %(year)s is missing: an administrator has to enter "
                "that year's holidays and adjusted working days and mark the year complete."
            )
            % {"year": year},
            extra={"year": year},
        )


@dataclass(frozen=True)
class DayInfo:
    """What one date is: ``working`` or not, and why (``kind``: ``holiday``, ``workday`` — an
    adjusted working day —, ``weekend`` or ``weekday``), with the holiday's key if any."""

    date: dt.date
    working: bool
    kind: str
    holiday: str | None


class WorkingCalendar:
    """China's working days, built once from the holiday table and then checked in memory.

    ``days`` maps dates to ``(kind, holiday_key)`` for the table's holiday and adjusted-working-
    day rows (``ordinary`` rows may be passed and are ignored); ``covered_years`` are the years
    marked complete. ``loaded_years``, when given, is the range the rows were loaded for: asking
    about a year outside it is a programming error (``ValueError``), not a missing calendar.

    Any question about a date in a year that is not covered raises :class:`CalendarMissing`.
    """

    def __init__(
        self,
        *,
        days: Mapping[dt.date, tuple[str, str]],
        covered_years: Iterable[int],
        loaded_years: range | None = None,
    ) -> None:
        self._days = {
            day: (kind, holiday)
            for day, (kind, holiday) in days.items()
            if kind in (DayKind.HOLIDAY, DayKind.WORKDAY)
        }
        self.loaded_years = loaded_years
        self.covered_years = frozenset(
            year for year in covered_years if loaded_years is None or year in loaded_years
        )

    def covers(self, year: int) -> bool:
        return year in self.covered_years

    def require(self, year: int) -> None:
        """Raise unless ``year`` is covered."""
        if self.loaded_years is not None and year not in self.loaded_years:
            raise ValueError(f"year {year} was not loaded (loaded: {self.loaded_years})")
        if year not in self.covered_years:
            raise CalendarMissing(year)

    def day_info(self, day: dt.date) -> DayInfo:
        self.require(day.year)
        special = self._days.get(day)
        if special is not None:
            kind, holiday = special
            return DayInfo(day, kind == DayKind.WORKDAY, kind, holiday or None)
        if day.weekday() >= 5:
            return DayInfo(day, False, "weekend", None)
        return DayInfo(day, True, "weekday", None)

    def is_working_day(self, day: dt.date) -> bool:
        self.require(day.year)
        special = self._days.get(day)
        if special is not None:
            return special[0] == DayKind.WORKDAY
        return day.weekday() < 5

    def is_rest_day(self, day: dt.date) -> bool:
        return not self.is_working_day(day)

    def holiday(self, day: dt.date) -> str | None:
        """The key of the holiday ``day`` is off for, ``None`` on any other day."""
        self.require(day.year)
        special = self._days.get(day)
        if special is None or special[0] != DayKind.HOLIDAY:
            return None
        return special[1] or None

    def next_working_day(self, day: dt.date, *, include_start: bool = False) -> dt.date:
        """The first working day after ``day`` (or ``day`` itself, with ``include_start``)."""
        return self._walk(day, 1, include_start)

    def previous_working_day(self, day: dt.date, *, include_start: bool = False) -> dt.date:
        return self._walk(day, -1, include_start)

    def _walk(self, day: dt.date, step: int, include_start: bool) -> dt.date:
        # Terminates: the walk either meets a working day or reaches a year that is not
        # covered (there are finitely many covered years), which raises.
        current = day if include_start else day + dt.timedelta(days=step)
        while not self.is_working_day(current):
            current += dt.timedelta(days=step)
        return current

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (before it when negative); ``count=0`` is
        ``day`` itself when it is a working day, else the next one."""
        if count == 0:
            return self.next_working_day(day, include_start=True)
        step = 1 if count > 0 else -1
        current = day
        for _index in range(abs(count)):
            current = self._walk(current, step, include_start=False)
        return current

    def working_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """The working days from ``start`` to ``end``, both included. Every year of the range is
        checked first, so a missing year raises before anything is yielded."""
        for year in range(start.year, end.year + 1):
            self.require(year)
        current = start
        while current <= end:
            if self.is_working_day(current):
                yield current
            current += dt.timedelta(days=1)

    def count_working_days(self, start: dt.date, end: dt.date) -> int:
        return sum(1 for _day in self.working_days(start, end))


# --- seeding from chinese-calendar --------------------------------------------------------------


@dataclass(frozen=True)
class SeedDay:
    date: dt.date
    kind: str
    holiday: str


@functools.cache
def chinese_calendar_years() -> range:
    """The years the installed chinese-calendar package has arrangements for (it refuses
    others), from its own data (fixed while the process runs)."""
    dates = chinese_calendar.holidays.keys()
    return range(min(dates).year, max(dates).year + 1)


def chinese_calendar_version() -> str:
    return str(getattr(chinese_calendar, "__version__", ""))


def _holiday_key(name: str) -> str:
    try:
        key = Holiday(name).name
    except ValueError:
        return str(HolidayKey.OTHER)
    return key if key in HolidayKey.values else str(HolidayKey.OTHER)


def chinese_calendar_days(year: int) -> list[SeedDay]:
    """The holidays and adjusted working days of ``year`` as chinese-calendar answers them,
    asked day by day through its public ``get_holiday_detail``."""
    if year not in chinese_calendar_years():
        raise ValueError(f"chinese-calendar has no data for {year}")
    result = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        found = chinese_calendar_day(day)
        if found is not None:
            result.append(found)
        day += dt.timedelta(days=1)
    return result


def chinese_calendar_day(day: dt.date) -> SeedDay | None:
    """chinese-calendar's holiday or adjusted working day on ``day``; ``None`` for an ordinary
    day or a year the package does not cover."""
    if day.year not in chinese_calendar_years():
        return None
    is_holiday, name = chinese_calendar.get_holiday_detail(day)
    if name is None:
        return None
    return SeedDay(day, str(DayKind.HOLIDAY if is_holiday else DayKind.WORKDAY), _holiday_key(name))


# --- festivals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Festival:
    key: str
    date: dt.date
    lunar: bool  # whether the festival follows the lunar calendar (its date moves every year)

    @property
    def label(self) -> str:
        return str(FestivalKey(self.key).label)


_LUNAR_FESTIVALS = {
    FestivalKey.SPRING_FESTIVAL: (1, 1),
    FestivalKey.LANTERN_FESTIVAL: (1, 15),
    FestivalKey.DRAGON_BOAT_FESTIVAL: (5, 5),
    FestivalKey.QIXI_FESTIVAL: (7, 7),
    FestivalKey.MID_AUTUMN_FESTIVAL: (8, 15),
    FestivalKey.DOUBLE_NINTH_FESTIVAL: (9, 9),
}
_SOLAR_FESTIVALS = {
    FestivalKey.NEW_YEARS_DAY: (1, 1),
    FestivalKey.LABOUR_DAY: (5, 1),
    FestivalKey.NATIONAL_DAY: (10, 1),
}


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            gettext("Enter a year from %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            code="year_out_of_range",
        )


def qingming_date(year: int) -> dt.date:
    """清明, the solar term Pure Brightness (4–6 April), from chinese-calendar's solar terms."""
    _check_year(year)
    name = SolarTerms.pure_brightness.value[1]
    terms = chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 30))
    return next(day for day, term in terms if term == name)


def festivals(year: int) -> list[Festival]:
    """Every festival of :class:`FestivalKey` in the solar year ``year``, by date. Lunar
    festivals fall in the ordinary (not leap) month, as they are kept."""
    _check_year(year)
    found = [
        Festival(str(key), dt.date(year, month, day), False)
        for key, (month, day) in _SOLAR_FESTIVALS.items()
    ]
    for key, (month, day) in _LUNAR_FESTIVALS.items():
        found.append(Festival(str(key), LunarDate(year, month, day).to_solar_date(), True))
    spring = LunarDate(year, 1, 1).to_solar_date()
    found.append(
        Festival(str(FestivalKey.CHINESE_NEW_YEARS_EVE), spring - dt.timedelta(days=1), True)
    )
    found.append(Festival(str(FestivalKey.TOMB_SWEEPING_DAY), qingming_date(year), False))
    return sorted(found, key=lambda festival: festival.date)


def festival_date(key: str, year: int) -> dt.date:
    """The date of one festival in the solar year ``year``."""
    if key not in FestivalKey.values:
        raise ValidationError(gettext("Unknown festival."), code="unknown_festival")
    return next(festival.date for festival in festivals(year) if festival.key == key)


def festivals_between(start: dt.date, end: dt.date) -> list[Festival]:
    """The festivals from ``start`` to ``end``, both included, by date (greeting tasks are
    generated for such a window ahead of today)."""
    return [
        festival
        for year in range(start.year, end.year + 1)
        for festival in festivals(year)
        if start <= festival.date <= end
    ]


# --- birthdays and anniversaries ----------------------------------------------------------------


def _check_solar_month_day(month: int, day: int) -> None:
    try:
        dt.date(2000, month, day)  # a leap year: 29 February is a valid birthday
    except (TypeError, ValueError) as error:
        raise ValidationError(gettext("Enter a valid date."), code="invalid_date") from error


def _check_lunar_month_day(month: int, day: int) -> None:
    if not (
        isinstance(month, int) and isinstance(day, int) and 1 <= month <= 12 and 1 <= day <= 30
    ):
        raise ValidationError(
            gettext("Enter a lunar month from 1 to 12 and a day from 1 to 30."),
            code="invalid_lunar_date",
        )


def solar_birthday_in_year(month: int, day: int, year: int) -> dt.date:
    """The birthday ``month``/``day`` in ``year``; 29 February is 28 February in a common year."""
    _check_solar_month_day(month, day)
    if (month, day) == (2, 29):
        try:
            return dt.date(year, 2, 29)
        except ValueError:
            return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def _lunar_month_days(lunar_year: int, month: int, leap: bool) -> int:
    return 30 if _lunar_exists(lunar_year, month, 30, leap) else 29


def _lunar_exists(lunar_year: int, month: int, day: int, leap: bool) -> bool:
    try:
        LunarDate(lunar_year, month, day, leap).to_solar_date()
    except ValueError:
        return False
    return True


def lunar_birthday_in_year(
    month: int, day: int, lunar_year: int, *, is_leap_month: bool = False
) -> dt.date:
    """The solar date of the lunar birthday ``month``/``day`` in the lunar year ``lunar_year``
    (see the module's notes for leap months and day 30)."""
    _check_lunar_month_day(month, day)
    _check_year(lunar_year)
    leap = is_leap_month and LunarDate.leap_month_for_year(lunar_year) == month
    day = min(day, _lunar_month_days(lunar_year, month, leap))
    return LunarDate(lunar_year, month, day, leap).to_solar_date()


@functools.cache
def _lunar_span() -> tuple[dt.date, dt.date]:
    """The first and last solar dates lunardate's table covers (lunar 1900-01-01 to the last
    day of lunar 2099)."""
    last_month_leap = LunarDate.leap_month_for_year(LAST_YEAR) == 12
    last_days = _lunar_month_days(LAST_YEAR, 12, last_month_leap)
    return (
        LunarDate(FIRST_YEAR, 1, 1).to_solar_date(),
        LunarDate(LAST_YEAR, 12, last_days, last_month_leap).to_solar_date(),
    )


@dataclass(frozen=True)
class LunarMonthDay:
    year: int
    month: int
    day: int
    is_leap_month: bool


def lunar_from_solar(day: dt.date) -> LunarMonthDay:
    """The lunar date of a solar date (for a birthday entered in the solar calendar that the
    person keeps in the lunar one)."""
    first, last = _lunar_span()
    if not first <= day <= last:
        # lunardate answers nonsense (negative days) outside its table instead of failing.
        raise ValidationError(
            gettext("Lunar dates are known from %(first)s to %(last)s.")
            % {"first": first.isoformat(), "last": last.isoformat()},
            code="year_out_of_range",
        )
    lunar = LunarDate.from_solar_date(day.year, day.month, day.day)
    return LunarMonthDay(lunar.year, lunar.month, lunar.day, lunar.is_leap_month)


def birthday_next(
    *,
    month: int,
    day: int,
    on_or_after: dt.date,
    calendar: str = BirthdayCalendar.SOLAR,
    is_leap_month: bool = False,
) -> dt.date:
    """The first birthday on or after ``on_or_after`` (today's birthday counts), in the solar or
    the lunar calendar; ``month``/``day`` are in that calendar, ``is_leap_month`` for a lunar
    birthday in a leap month."""
    if calendar == BirthdayCalendar.SOLAR:
        _check_solar_month_day(month, day)
        found = solar_birthday_in_year(month, day, on_or_after.year)
        if found < on_or_after:
            found = solar_birthday_in_year(month, day, on_or_after.year + 1)
        return found
    if calendar != BirthdayCalendar.LUNAR:
        raise ValidationError(gettext("Select a valid choice."), code="invalid_calendar")
    _check_lunar_month_day(month, day)
    # The lunar year of the start date began on or before it, so the previous lunar year's
    # birthday is already past: this year's or the next.
    lunar_year = lunar_from_solar(on_or_after).year
    for year in (lunar_year, lunar_year + 1):
        found = lunar_birthday_in_year(month, day, year, is_leap_month=is_leap_month)
        if found >= on_or_after:
            return found
    raise AssertionError("unreachable: a lunar year has every month")  # pragma: no cover


@dataclass(frozen=True)
class Anniversary:
    date: dt.date
    years: int


def anniversary_next(start: dt.date, *, on_or_after: dt.date) -> Anniversary:
    """The first anniversary of ``start`` (the first year's or later, never ``start`` itself) on
    or after ``on_or_after``, with its number of years; 29 February as for birthdays."""
    year = max(on_or_after.year, start.year + 1)
    found = solar_birthday_in_year(start.month, start.day, year)
    if found < on_or_after:
        year += 1
        found = solar_birthday_in_year(start.month, start.day, year)
    return Anniversary(found, year - start.year)


_CHINESE_MONTHS = ("正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊")
_CHINESE_DIGITS = ("", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十")


def _chinese_lunar_day(day: int) -> str:
    if day <= 10:
        return "初" + _CHINESE_DIGITS[day]
    if day < 20:
        return "十" + _CHINESE_DIGITS[day - 10]
    if day == 20:
        return "二十"
    if day < 30:
        return "廿" + _CHINESE_DIGITS[day - 20]
    return "三十"


def lunar_month_day_display(month: int, day: int, *, is_leap_month: bool = False) -> str:
    """A lunar month and day for people: 闰四月廿八 in Chinese, "Lunar 4/28 (leap month)" in
    other languages."""
    _check_lunar_month_day(month, day)
    if (get_language() or "").lower().startswith("zh"):
        leap = "闰" if is_leap_month else ""
        return f"{leap}{_CHINESE_MONTHS[month - 1]}月{_chinese_lunar_day(day)}"
    if is_leap_month:
        return gettext("Lunar %(month)s/%(day)s (leap month)") % {"month": month, "day": day}
    return gettext("Lunar %(month)s/%(day)s") % {"month": month, "day": day}
