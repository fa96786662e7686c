"""Access helpers for the shared screens: recycle bin items, the audit trail, saved views."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from guanxi.accounts.roles import Capability
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.core.models import BaseModel, SavedView


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
