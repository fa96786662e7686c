from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status

from guanxi.core import services
from guanxi.core.pagination import keyset_paginate
from guanxi.core.permissions import (
    audit_require_access,
    calendar_day_get_for_user,
    calendar_require_edit,
    calendar_require_read,
    recycle_item_get_for_user,
    saved_view_get_for_user,
)
from guanxi.core.schemas import (
    AuditPage,
    CalendarDayIn,
    CalendarDayOut,
    CalendarDayPatchIn,
    CalendarSeedIn,
    CalendarSeedOut,
    CalendarYearIn,
    CalendarYearOut,
    CalendarYearsOut,
    RecycleItemOut,
    RestoredOut,
    SavedViewIn,
    SavedViewOut,
)
from guanxi.core.selectors import (
    CalendarYearStatus,
    RecycleItem,
    audit_list,
    calendar_day_list,
    calendar_year_get,
    calendar_year_list,
    calendar_years_missing,
    recycle_bin_list,
    saved_view_list,
)
from guanxi.core.services import object_restore

router = Router(tags=["platform"])


def _recycle_out(item: RecycleItem) -> dict[str, Any]:
    deleted_by = item.instance.deleted_by
    return {
        "object_type": item.object_type,
        "object_type_label": item.object_type_label,
        "id": item.instance.pk,
        "label": item.instance.recycle_label(),
        "deleted_at": item.instance.deleted_at,
        "deleted_by": str(deleted_by) if deleted_by else None,
        "purge_at": item.purge_at,
    }


@router.get("/recycle-bin", response=list[RecycleItemOut])
def recycle_bin_index(request: HttpRequest) -> Any:
    """Deleted records you may restore, with the date each will be purged for good."""
    return [_recycle_out(item) for item in recycle_bin_list(actor=request.auth)]


@router.post("/recycle-bin/{object_type}/{object_id}/restore", response=RestoredOut)
def recycle_bin_restore(request: HttpRequest, object_type: str, object_id: int) -> Any:
    instance = recycle_item_get_for_user(request.auth, object_type, object_id)
    restored = object_restore(instance=instance, actor=request.auth)
    return {"object_type": object_type, "id": restored.pk, "label": restored.recycle_label()}


@router.get("/audit", response=AuditPage)
def audit_index(
    request: HttpRequest,
    object_type: str = "",
    object_id: str = "",
    actor_id: int | None = None,
    action: str = "",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The audit trail, newest first. Read-only: there is no endpoint that changes it."""
    audit_require_access(request.auth)
    entries = audit_list(
        actor=request.auth,
        object_type=object_type,
        object_id=object_id,
        actor_id=actor_id,
        action=action,
    )
    page = keyset_paginate(entries, ordering=("-occurred_at", "-id"), cursor=cursor, limit=limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/saved-views", response=list[SavedViewOut])
def saved_view_index(request: HttpRequest, list_name: str = "customers") -> Any:
    """Your own saved views of one list (nobody sees another's)."""
    return list(saved_view_list(actor=request.auth, list_name=list_name))


@router.post("/saved-views", response={201: SavedViewOut})
def saved_view_add(request: HttpRequest, payload: SavedViewIn) -> Status[Any]:
    """Save filters under a name; an existing name of yours gets the new filters."""
    view = services.saved_view_create(
        actor=request.auth, list_name=payload.list_name, name=payload.name, query=payload.query
    )
    return Status(201, view)


@router.delete("/saved-views/{view_id}", response={204: None})
def saved_view_remove(request: HttpRequest, view_id: int) -> Status[None]:
    view = saved_view_get_for_user(request.auth, view_id)
    services.saved_view_delete(actor=request.auth, view=view)
    return Status(204, None)


# --- calendar ------------------------------------------------------------------------------------
# Everyone signed in reads the holiday table; administrators change it.


def _calendar_year_out(status: CalendarYearStatus) -> dict[str, Any]:
    return {
        "year": status.year,
        "complete": status.complete,
        "holidays": status.holidays,
        "workdays": status.workdays,
        "source": status.row.source if status.row else None,
        "note": status.row.note if status.row else "",
    }


@router.get("/calendar/days", response=list[CalendarDayOut])
def calendar_day_index(request: HttpRequest, year: int | None = None) -> Any:
    """The holidays and adjusted working days of ``year`` (default: this year), by date. A date
    not listed is an ordinary day — but only in a year that ``/calendar/years`` reports
    complete."""
    calendar_require_read(request.auth)
    chosen = services.calendar_year_check(timezone.localdate().year if year is None else year)
    return list(calendar_day_list(year=chosen))


@router.post("/calendar/days", response={201: CalendarDayOut})
def calendar_day_add(request: HttpRequest, payload: CalendarDayIn) -> Status[Any]:
    """Add a holiday or adjusted working day (administrators)."""
    calendar_require_edit(request.auth)
    day = services.calendar_day_create(
        actor=request.auth,
        date=services.calendar_date_parse(payload.date),
        kind=payload.kind,
        holiday=payload.holiday,
        note=payload.note,
    )
    return Status(201, day)


@router.patch("/calendar/days/{day}", response=CalendarDayOut)
def calendar_day_edit(request: HttpRequest, day: str, payload: CalendarDayPatchIn) -> Any:
    """Change a day's kind, holiday or note (administrators). It counts as edited from then
    on: a re-seed keeps it."""
    row = calendar_day_get_for_user(request.auth, day, write=True)
    data = payload.dict(exclude_unset=True)
    return services.calendar_day_update(actor=request.auth, day=row, data=data)


@router.delete("/calendar/days/{day}", response={204: None})
def calendar_day_remove(request: HttpRequest, day: str) -> Status[None]:
    """Make the date an ordinary day again (administrators). A day chinese-calendar has stays
    listed as ``ordinary``, so a re-seed does not bring it back; deleting that marker lets the
    next re-seed restore it."""
    row = calendar_day_get_for_user(request.auth, day, write=True)
    services.calendar_day_delete(actor=request.auth, day=row)
    return Status(204, None)


@router.get("/calendar/years", response=CalendarYearsOut)
def calendar_year_index(request: HttpRequest) -> Any:
    """Every year in the table with its day counts, plus this year and the next; ``missing``
    names the ones of those two that are not complete."""
    calendar_require_read(request.auth)
    today = timezone.localdate()
    return {
        "items": [_calendar_year_out(status) for status in calendar_year_list(today=today)],
        "missing": calendar_years_missing(today=today),
    }


@router.patch("/calendar/years/{year}", response=CalendarYearOut)
def calendar_year_edit(request: HttpRequest, year: int, payload: CalendarYearIn) -> Any:
    """Mark a year complete (its days are all entered) or not (administrators)."""
    calendar_require_edit(request.auth)
    services.calendar_year_update(
        actor=request.auth, year=year, complete=payload.complete, note=payload.note
    )
    return _calendar_year_out(calendar_year_get(year=year))


@router.post("/calendar/seed", response=CalendarSeedOut)
def calendar_seed(request: HttpRequest, payload: CalendarSeedIn) -> Any:
    """Seed years from the chinese-calendar package (administrators); keeps days an
    administrator edited unless ``overwrite_edited``."""
    calendar_require_edit(request.auth)
    result = services.calendar_seed(
        actor=request.auth, years=payload.years, overwrite_edited=payload.overwrite_edited
    )
    return {
        "years": list(result.years),
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "kept": result.kept,
        "removed": result.removed,
    }
