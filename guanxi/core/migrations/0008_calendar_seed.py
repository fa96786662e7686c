"""Seed the holiday table with every year the installed chinese-calendar package covers
(2004 to its last published year; 2026 for 1.11.0), each such year marked complete.

Self-contained on purpose: a migration must not import application code that may change after it
has run. Later years are entered by an administrator (settings → holiday calendar) or, once a
newer chinese-calendar is installed, seeded with ``guanxi calendar_seed``, which keeps days an
administrator edited.
"""

import datetime as dt

import chinese_calendar
from chinese_calendar.constants import Holiday
from django.db import migrations

HOLIDAY_KEYS = {
    "new_years_day",
    "spring_festival",
    "tomb_sweeping_day",
    "labour_day",
    "dragon_boat_festival",
    "mid_autumn_festival",
    "national_day",
    "anti_fascist_70th_day",
}


def _key(name):
    try:
        key = Holiday(name).name
    except ValueError:
        return "other"
    return key if key in HOLIDAY_KEYS else "other"


def seed(apps, schema_editor):
    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    dates = chinese_calendar.holidays.keys()
    first, last = min(dates).year, max(dates).year
    existing_days = set(CalendarDay.objects.values_list("date", flat=True))
    existing_years = set(CalendarYear.objects.values_list("year", flat=True))
    version = getattr(chinese_calendar, "__version__", "")
    rows = []
    day = dt.date(first, 1, 1)
    while day.year <= last:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
        if name is not None and day not in existing_days:
            rows.append(
                CalendarDay(
                    date=day,
                    kind="holiday" if is_holiday else "workday",
                    holiday=_key(name),
                    source="seeded",
                )
            )
        day += dt.timedelta(days=1)
    CalendarDay.objects.bulk_create(rows, batch_size=500)
    CalendarYear.objects.bulk_create(
        [
            CalendarYear(
                year=year,
                complete=True,
                source="seeded",
                note=f"chinese-calendar {version}".strip(),
            )
            for year in range(first, last + 1)
            if year not in existing_years
        ]
    )


def unseed(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.filter(source="seeded").delete()
    apps.get_model("core", "CalendarYear").objects.filter(source="seeded").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_calendar_tables"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
