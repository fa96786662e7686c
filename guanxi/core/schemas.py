from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from guanxi.core.audit import audit_changes_display, audit_note_display


class RecycleItemOut(Schema):
    object_type: str
    object_type_label: str
    id: int
    label: str
    deleted_at: dt.datetime
    deleted_by: str | None
    purge_at: dt.datetime


class RestoredOut(Schema):
    object_type: str
    id: int
    label: str


class AuditEntryOut(Schema):
    id: int
    occurred_at: dt.datetime
    actor_id: int | None
    actor_label: str
    ip_address: str | None
    action: str
    object_type: str
    object_id: str
    object_label: str
    changes: dict[str, Any]
    note: str
    note_display: str

    @staticmethod
    def resolve_changes(entry: Any) -> dict[str, Any]:
        # Personal data (contact phones, e-mail, WeChat ID) leaves masked, as on the audit page.
        return audit_changes_display(entry)

    @staticmethod
    def resolve_note_display(entry: Any) -> str:
        return audit_note_display(entry.note)


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None


class SavedViewIn(Schema):
    list_name: str = Field(..., max_length=30, description="Which list, e.g. customers.")
    name: str = Field(..., max_length=50)
    query: str = Field(
        "",
        max_length=2000,
        description="The list's query string; only its filter and sort parameters are kept.",
    )


class SavedViewOut(Schema):
    id: int
    list_name: str
    name: str
    query: str
    created_at: dt.datetime


# --- calendar ------------------------------------------------------------------------------------


class CalendarDayOut(Schema):
    date: dt.date
    kind: str = Field(
        ...,
        description="holiday (a day off), workday (an adjusted working day: "
        "a weekend day worked) or ordinary (a seeded day an administrator removed).",
    )
    kind_label: str
    holiday: str = Field(..., description="The holiday's key, e.g. spring_festival.")
    holiday_label: str
    note: str
    source: str = Field(..., description="seeded (chinese-calendar) or edited (administrator).")
    updated_at: dt.datetime
    updated_by: str | None

    @staticmethod
    def resolve_kind_label(day: Any) -> str:
        return str(day.get_kind_display())

    @staticmethod
    def resolve_holiday_label(day: Any) -> str:
        return str(day.get_holiday_display()) if day.holiday else ""

    @staticmethod
    def resolve_updated_by(day: Any) -> str | None:
        return str(day.updated_by) if day.updated_by_id else None


class CalendarDayIn(Schema):
    date: str = Field(..., max_length=10, description="YYYY-MM-DD")
    kind: str = Field(..., max_length=10, description="holiday or workday")
    holiday: str = Field("", max_length=30, description="The holiday's key, e.g. national_day.")
    note: str = Field("", max_length=200)


class CalendarDayPatchIn(Schema):
    kind: str | None = Field(None, max_length=10)
    holiday: str | None = Field(None, max_length=30)
    note: str | None = Field(None, max_length=200)


class CalendarYearOut(Schema):
    year: int
    complete: bool
    holidays: int
    workdays: int
    source: str | None
    note: str


class CalendarYearsOut(Schema):
    items: list[CalendarYearOut]
    missing: list[int] = Field(
        ..., description="This year and next if the table does not cover them."
    )


class CalendarYearIn(Schema):
    complete: bool
    note: str | None = Field(None, max_length=200)


class CalendarSeedIn(Schema):
    years: list[int] | None = Field(
        None, max_length=200, description="Default: every year the package covers."
    )
    overwrite_edited: bool = False


class CalendarSeedOut(Schema):
    years: list[int]
    created: int
    updated: int
    unchanged: int
    kept: int
    removed: int
