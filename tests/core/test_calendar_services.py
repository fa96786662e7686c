"""Services and selectors of the holiday table: what an administrator may enter, what is refused
(with nothing changed), the audit trail of every change, and the coverage reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from guanxi.core import services
from guanxi.core.audit import audit_note_display
from guanxi.core.china.calendar import CalendarMissing
from guanxi.core.models import AuditEntry, CalendarDay, CalendarSource, CalendarYear
from guanxi.core.selectors import (
    calendar_day_list,
    calendar_month_grid,
    calendar_year_get,
    calendar_year_list,
    calendar_years_missing,
    working_calendar_load,
)

pytestmark = pytest.mark.django_db

D = dt.date


def _state() -> tuple[list, list, int]:
    return (
        list(CalendarDay.objects.order_by("date").values()),
        list(CalendarYear.objects.order_by("year").values()),
        AuditEntry.objects.count(),
    )


# --- days ---------------------------------------------------------------------------------------


def test_create_a_holiday_in_a_new_year_is_audited(org):
    # when the administrator enters 2027's New Year's Day
    day = services.calendar_day_create(
        actor=org.admin, date=D(2027, 1, 1), kind="holiday", holiday="new_years_day", note=" 元旦 "
    )
    # then it is stored as edited, and audited with its values
    assert (day.kind, day.holiday, day.note, day.source) == (
        "holiday",
        "new_years_day",
        "元旦",
        CalendarSource.EDITED,
    )
    assert day.updated_by == org.admin
    entry = AuditEntry.objects.get(object_type="core.calendarday", object_id=str(day.pk))
    assert entry.action == "create" and entry.actor == org.admin
    assert entry.changes["date"] == {"before": None, "after": "2027-01-01"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"date": D(2027, 1, 4), "kind": "workday", "holiday": "new_years_day"}, "kind"),  # Monday
        ({"date": D(2027, 1, 2), "kind": "weekend", "holiday": "new_years_day"}, "kind"),
        ({"date": D(2027, 1, 2), "kind": "ordinary", "holiday": ""}, "kind"),
        ({"date": D(2027, 1, 1), "kind": "holiday", "holiday": ""}, "holiday"),
        ({"date": D(2027, 1, 1), "kind": "holiday", "holiday": "christmas"}, "holiday"),
        ({"date": D(2026, 1, 1), "kind": "holiday", "holiday": "new_years_day"}, "date"),  # exists
        ({"date": D(2100, 1, 1), "kind": "holiday", "holiday": "new_years_day"}, "date"),
        ({"date": D(2027, 1, 1), "kind": "holiday", "holiday": "other", "note": "x" * 201}, "note"),
    ],
)
def test_bad_days_are_field_errors_and_change_nothing(org, values, field):
    before = _state()
    with pytest.raises(ValidationError) as caught:
        services.calendar_day_create(actor=org.admin, **values)
    assert field in caught.value.message_dict
    assert _state() == before


def test_an_adjusted_working_day_must_be_a_weekend_day(org):
    day = services.calendar_day_create(
        actor=org.admin, date=D(2027, 2, 20), kind="workday", holiday="spring_festival"
    )
    assert day.date.weekday() == 5


def test_update_audits_only_what_changed(org):
    day = CalendarDay.objects.get(date=D(2026, 10, 1))
    entries = AuditEntry.objects.count()
    services.calendar_day_update(actor=org.admin, day=day, data={"note": "国庆", "kind": "holiday"})
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == entries + 1
    assert entry.changes == {
        "note": {"before": "", "after": "国庆"},
        "source": {"before": "seeded", "after": "edited"},
    }
    # the same values again: nothing to write
    services.calendar_day_update(actor=org.admin, day=day, data={"note": "国庆"})
    assert AuditEntry.objects.count() == entries + 1


def test_update_refuses_other_fields_and_bad_values(org):
    day = CalendarDay.objects.get(date=D(2026, 10, 10))  # a Saturday worked
    before = _state()
    with pytest.raises(ValidationError) as caught:
        services.calendar_day_update(actor=org.admin, day=day, data={"date": D(2026, 10, 11)})
    assert "date" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.calendar_day_update(actor=org.admin, day=day, data={"kind": None})
    weekday = CalendarDay.objects.get(date=D(2026, 10, 2))  # a Friday off
    with pytest.raises(ValidationError) as caught:
        services.calendar_day_update(actor=org.admin, day=weekday, data={"kind": "workday"})
    assert "kind" in caught.value.message_dict
    assert _state() == before


def test_deleting_a_day_the_package_does_not_have_removes_it(org):
    day = services.calendar_day_create(
        actor=org.admin, date=D(2027, 1, 1), kind="holiday", holiday="new_years_day"
    )
    assert services.calendar_day_delete(actor=org.admin, day=day) is None
    assert not CalendarDay.objects.filter(date=D(2027, 1, 1)).exists()
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.note == "calendar_day_deleted"
    assert entry.changes["kind"] == {"before": "holiday", "after": None}


def test_deleting_a_seeded_day_keeps_a_marker_and_adding_it_again_reuses_it(org):
    day = CalendarDay.objects.get(date=D(2026, 2, 23))
    marker = services.calendar_day_delete(actor=org.admin, day=day)
    assert marker.pk == day.pk and marker.kind == "ordinary" and marker.holiday == ""
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.note == "calendar_day_removed" and audit_note_display(entry.note)
    # adding the date again fills the marker, not a second row
    again = services.calendar_day_create(
        actor=org.admin, date=D(2026, 2, 23), kind="holiday", holiday="spring_festival"
    )
    assert again.pk == day.pk and again.kind == "holiday"
    # deleting the marker itself lets the next seed restore the package's day
    services.calendar_day_delete(actor=org.admin, day=again)
    marker = CalendarDay.objects.get(date=D(2026, 2, 23))
    services.calendar_day_delete(actor=org.admin, day=marker)
    assert not CalendarDay.objects.filter(date=D(2026, 2, 23)).exists()
    services.calendar_seed(actor=org.admin, years=[2026])
    assert CalendarDay.objects.get(date=D(2026, 2, 23)).source == CalendarSource.SEEDED


def test_date_parse():
    assert services.calendar_date_parse("2026-02-17") == D(2026, 2, 17)
    for bad in ("2026-02-30", "2026-2-1", "20260217", "", None, 20260217, "2026-02-17T00:00"):
        with pytest.raises(ValidationError):
            services.calendar_date_parse(bad)


# --- years --------------------------------------------------------------------------------------


def test_marking_an_empty_year_complete_is_refused(org):
    before = _state()
    with pytest.raises(ValidationError) as caught:
        services.calendar_year_update(actor=org.admin, year=2027, complete=True)
    assert "complete" in caught.value.message_dict
    assert _state() == before


def test_entering_next_year_and_marking_it_complete(org):
    # given 2027 is missing
    assert calendar_years_missing(today=D(2026, 11, 22)) == [2027]
    with pytest.raises(CalendarMissing):
        working_calendar_load().is_working_day(D(2027, 1, 4))
    # when the administrator enters its days and marks it complete
    services.calendar_day_create(
        actor=org.admin, date=D(2027, 1, 1), kind="holiday", holiday="new_years_day"
    )
    year = services.calendar_year_update(
        actor=org.admin, year=2027, complete=True, note="国办发明电〔2026〕"
    )
    # then working days of 2027 are answered and nothing is missing
    assert (year.complete, year.source, year.updated_by) == (True, "edited", org.admin)
    calendar = working_calendar_load()
    assert not calendar.is_working_day(D(2027, 1, 1))
    assert calendar.is_working_day(D(2027, 1, 4))
    assert calendar_years_missing(today=D(2026, 11, 22)) == []
    entry = AuditEntry.objects.filter(object_type="core.calendaryear").order_by("-id").first()
    assert entry.action == "create" and entry.changes["complete"]["after"] is True
    # and marking it not complete again takes it away
    services.calendar_year_update(actor=org.admin, year=2027, complete=False)
    with pytest.raises(CalendarMissing):
        working_calendar_load().is_working_day(D(2027, 1, 4))


def test_year_out_of_range(org):
    with pytest.raises(ValidationError) as caught:
        services.calendar_year_update(actor=org.admin, year=2100, complete=False)
    assert "year" in caught.value.message_dict


def test_missing_years_around_today():
    assert calendar_years_missing(today=D(2026, 1, 5)) == [2027]
    assert calendar_years_missing(today=D(2025, 6, 1)) == []
    assert calendar_years_missing(today=D(2030, 6, 1), ahead=2) == [2030, 2031, 2032]
    assert calendar_years_missing(today=D(2003, 6, 1)) == [2003]


def test_year_list_counts_and_shows_the_missing_next_year(django_assert_num_queries):
    with django_assert_num_queries(2):
        years = calendar_year_list(today=D(2026, 11, 22))
    assert years[0].year == 2027 and not years[0].complete and years[0].row is None
    y2026 = next(y for y in years if y.year == 2026)
    assert (y2026.complete, y2026.holidays, y2026.workdays) == (True, 33, 6)
    assert years[-1].year == 2004
    assert calendar_year_get(year=2026).holidays == 33


def test_month_grid_shows_the_rows_entered():
    days = list(calendar_day_list(year=2026))
    months = calendar_month_grid(year=2026, days=days)
    assert len(months) == 12
    february = months[1]
    cells = {cell.date: cell for week in february.weeks for cell in week if cell}
    assert len(cells) == 28
    assert cells[D(2026, 2, 17)].kind == "holiday"
    assert cells[D(2026, 2, 14)].kind == "workday"
    assert cells[D(2026, 2, 7)].kind == "weekend"
    assert cells[D(2026, 2, 2)].kind == "weekday"
    assert all(len(week) == 7 for week in february.weeks)
    assert february.weeks[0][:6] == [None] * 6  # 2026-02-01 is a Sunday
