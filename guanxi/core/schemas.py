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
