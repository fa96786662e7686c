"""The holiday table's seed: the migration's rows agree with chinese-calendar on every day of every
year it covers; re-seeding is idempotent, keeps what administrators edited, and corrects what the
package changed; a year the package does not have is refused, never guessed."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import chinese_calendar
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from guanxi.core import services
from guanxi.core.china.calendar import CalendarMissing, chinese_calendar_years
from guanxi.core.models import AuditEntry, CalendarDay, CalendarSource, CalendarYear
from guanxi.core.selectors import working_calendar_load

pytestmark = pytest.mark.django_db

D = dt.date
PACKAGE_YEARS = chinese_calendar_years()


def _every_day(year: int):
    day = D(year, 1, 1)
    while day.year == year:
        yield day
        day += dt.timedelta(days=1)


def test_the_package_covers_2004_to_its_last_published_year():
    # chinese-calendar 1.11.0 stops at 2026; a later year would be a guess
    assert chinese_calendar_years() == range(2004, 2027)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 1, 4))


def test_the_migration_seeded_every_package_year_as_complete():
    years = CalendarYear.objects.order_by("year")
    assert [y.year for y in years] == list(PACKAGE_YEARS)
    assert all(y.complete and y.source == CalendarSource.SEEDED for y in years)
    assert years.first().note == f"chinese-calendar {chinese_calendar.__version__}"


@pytest.mark.parametrize("year", list(PACKAGE_YEARS))
def test_the_seed_answers_as_chinese_calendar_on_every_day(year):
    # given the table as the migration left it, loaded once
    calendar = working_calendar_load(years=range(year, year + 1))
    for day in _every_day(year):
        # then every day is working exactly when the package says so
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        info = calendar.day_info(day)
        if name is None:
            assert info.holiday is None and info.kind in {"weekday", "weekend"}, day
        else:
            assert info.kind == ("holiday" if is_holiday else "workday"), day
            assert info.holiday == chinese_calendar.Holiday(name).name, day


def test_seeding_again_changes_nothing_and_writes_no_audit():
    # given the seeded table
    before = list(CalendarDay.objects.order_by("date").values())
    entries = AuditEntry.objects.count()
    # when seeding every year again
    result = services.calendar_seed(actor=None)
    # then nothing changed
    assert (result.created, result.updated, result.removed, result.kept) == (0, 0, 0, 0)
    assert result.unchanged == len(before)
    assert list(CalendarDay.objects.order_by("date").values()) == before
    assert AuditEntry.objects.count() == entries


def test_a_year_missing_from_the_package_is_refused(org):
    before = CalendarDay.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.calendar_seed(actor=org.admin, years=[2026, 2027])
    assert "years" in caught.value.message_dict
    assert "2027" in caught.value.message_dict["years"][0]
    assert CalendarDay.objects.count() == before
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_a_year_not_covered_raises_calendar_missing():
    calendar = working_calendar_load()
    assert calendar.is_working_day(D(2026, 12, 31))
    with pytest.raises(CalendarMissing) as caught:
        calendar.is_working_day(D(2027, 1, 1))
    assert caught.value.year == 2027
    with pytest.raises(CalendarMissing):
        calendar.is_working_day(D(2003, 6, 2))


def test_working_calendar_loads_in_two_queries(django_assert_num_queries):
    with django_assert_num_queries(2):
        calendar = working_calendar_load(years=range(2025, 2027))
    with django_assert_num_queries(0):
        assert len(list(calendar.working_days(D(2025, 1, 1), D(2026, 12, 31)))) > 400


def test_admin_edits_survive_a_reseed(org):
    # given an administrator's note on a seeded day, a day added, and a seeded day removed
    noted = services.calendar_day_update(
        actor=org.admin, day=CalendarDay.objects.get(date=D(2026, 10, 1)), data={"note": "国庆"}
    )
    added = services.calendar_day_create(
        actor=org.admin, date=D(2026, 12, 26), kind="workday", holiday="other", note="公司"
    )
    removed = services.calendar_day_delete(
        actor=org.admin, day=CalendarDay.objects.get(date=D(2026, 2, 23))
    )
    assert removed is not None and removed.kind == "ordinary"
    # when the year is seeded again
    result = services.calendar_seed(actor=org.admin, years=[2026])
    # then all three are kept
    assert (result.kept, result.created, result.updated, result.removed) == (3, 0, 0, 0)
    assert CalendarDay.objects.get(date=D(2026, 10, 1)).note == "国庆"
    assert CalendarDay.objects.get(pk=added.pk).kind == "workday"
    assert CalendarDay.objects.get(date=D(2026, 2, 23)).kind == "ordinary"
    calendar = working_calendar_load()
    assert calendar.is_working_day(D(2026, 2, 23))  # a Monday, no longer off
    assert calendar.is_working_day(D(2026, 12, 26))  # a Saturday worked
    assert noted.source == CalendarSource.EDITED


def test_overwrite_edited_puts_the_package_back(org):
    services.calendar_day_update(
        actor=org.admin, day=CalendarDay.objects.get(date=D(2026, 10, 1)), data={"note": "x"}
    )
    services.calendar_day_create(
        actor=org.admin, date=D(2026, 12, 26), kind="workday", holiday="other"
    )
    services.calendar_day_delete(actor=org.admin, day=CalendarDay.objects.get(date=D(2026, 2, 23)))
    # when seeding with overwrite
    result = services.calendar_seed(actor=org.admin, years=[2026], overwrite_edited=True)
    # then the year is exactly the package's again
    assert (result.updated, result.removed) == (2, 1)
    calendar = working_calendar_load(years=range(2026, 2027))
    for day in _every_day(2026):
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
    assert not CalendarDay.objects.filter(date=D(2026, 12, 26)).exists()
    assert CalendarDay.objects.get(date=D(2026, 2, 23)).source == CalendarSource.SEEDED


def test_reseed_corrects_seeded_rows_the_package_no_longer_has(org):
    # given a seeded row the package does not have, a seeded row changed, and one missing
    CalendarDay.objects.create(
        date=D(2026, 3, 2), kind="holiday", holiday="other", source=CalendarSource.SEEDED
    )
    CalendarDay.objects.filter(date=D(2026, 10, 10)).update(kind="holiday")
    CalendarDay.objects.filter(date=D(2026, 1, 1)).delete()
    entries = AuditEntry.objects.count()
    # when seeding the year
    result = services.calendar_seed(actor=org.admin, years=[2026])
    # then each is corrected, one audit entry per change plus the summary
    assert (result.created, result.updated, result.removed, result.kept) == (1, 1, 1, 0)
    assert not CalendarDay.objects.filter(date=D(2026, 3, 2)).exists()
    assert CalendarDay.objects.get(date=D(2026, 10, 10)).kind == "workday"
    assert CalendarDay.objects.get(date=D(2026, 1, 1)).holiday == "new_years_day"
    new_entries = AuditEntry.objects.order_by("id")[entries:]
    assert [e.action for e in new_entries] == ["create", "update", "action", "action"]
    assert new_entries[3].note.startswith("calendar_seed?year=2026&created=1")


def test_seed_fills_an_empty_table_and_marks_years_complete():
    # given a database whose table was emptied
    CalendarDay.objects.all().delete()
    CalendarYear.objects.all().delete()
    # when seeding one year
    result = services.calendar_seed(actor=None, years=[2025])
    # then it is there and complete, and nothing else is
    assert result.created == len(list(CalendarDay.objects.all())) > 20
    assert list(CalendarYear.objects.values_list("year", "complete", "source")) == [
        (2025, True, "seeded")
    ]
    entry = AuditEntry.objects.filter(object_type="core.calendaryear").first()
    assert entry is not None and entry.actor_label == "system"


def test_seed_marks_an_incomplete_year_complete(org):
    services.calendar_year_update(actor=org.admin, year=2026, complete=False)
    services.calendar_seed(actor=org.admin, years=[2026])
    assert CalendarYear.objects.get(year=2026).complete


def test_command_seeds_and_reports(org):
    CalendarDay.objects.filter(date=D(2025, 1, 1)).delete()
    out = StringIO()
    call_command("calendar_seed", "--year", "2025", stdout=out)
    assert "1 added" in out.getvalue()
    assert CalendarDay.objects.filter(date=D(2025, 1, 1)).exists()


def test_command_refuses_a_year_the_package_does_not_have():
    with pytest.raises(CommandError, match="2027"):
        call_command("calendar_seed", "--year", "2027", stdout=StringIO())
