from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema

from guanxi.core.audit import audit_note_display


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
    def resolve_note_display(entry: Any) -> str:
        return audit_note_display(entry.note)


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None
