"""Access helpers for the shared screens: recycle bin items, the audit trail, saved views, the
holiday calendar."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError

from guanxi.accounts.roles import Capability
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.core.models import BaseModel, CalendarDay, SavedView
from guanxi.core.services import calendar_date_parse


def recycle_item_get_for_user(actor: Any, object_type: str, pk: Any) -> BaseModel:
    """A soft-deleted record ``actor`` may restore; 404 for anything else, including live rows."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError) as error:
        raise NotFoundError() from error
    if not issubclass(model, BaseModel):
        raise NotFoundError()
    rows = model._base_manager.filter(deleted_at__isnull=False)
    if not actor.can(Capability.RECYCLE_ALL):
        rows = rows.filter(deleted_by=actor)
    try:
        instance = rows.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        instance = None
    if instance is None:
        raise NotFoundError()
    return instance


def audit_require_access(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.can(Capability.VIEW_AUDIT):
        raise PermissionDeniedError()


def saved_view_get_for_user(actor: Any, pk: Any) -> SavedView:
    """One of ``actor``'s own views; anybody else's is a 404, not a 403: views are private."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDeniedError()
    try:
        view = SavedView.objects.filter(user=actor, pk=int(pk)).first()
    except (TypeError, ValueError):
        view = None
    if view is None:
        raise NotFoundError()
    return view


# --- calendar ------------------------------------------------------------------------------------
# Everyone signed in reads the holiday calendar (the API's GET endpoints); administrators keep it.


def calendar_can_edit(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and actor.can(Capability.MANAGE_CALENDAR)


def calendar_require_edit(actor: Any) -> None:
    if not calendar_can_edit(actor):
        raise PermissionDeniedError()


def calendar_require_read(actor: Any) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDeniedError()


def calendar_day_get_for_user(actor: Any, value: Any, *, write: bool = False) -> CalendarDay:
    """The table's row for the date ``value`` (``YYYY-MM-DD``): 404 when there is none or the
    text is no date, 403 when ``write`` and ``actor`` is not an administrator."""
    calendar_require_read(actor)
    try:
        day = calendar_date_parse(value)
    except ValidationError as error:
        raise NotFoundError() from error
    row = CalendarDay.objects.filter(date=day).first()
    if row is None:
        raise NotFoundError()
    if write:
        calendar_require_edit(actor)
    return row
