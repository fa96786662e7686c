"""Reads for the recycle bin, the audit trail and saved views."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from guanxi.accounts.roles import Capability
from guanxi.core.audit import object_type_of
from guanxi.core.models import AuditEntry, BaseModel, SavedView
from guanxi.core.services import recyclable_models


@dataclass
class RecycleItem:
    object_type: str
    object_type_label: str
    instance: BaseModel
    purge_at: dt.datetime

    @property
    def pk(self) -> Any:
        return self.instance.pk


def recycle_bin_list(*, actor: Any, limit: int = 500) -> list[RecycleItem]:
    """Deleted records ``actor`` may restore: everything for an administrator, otherwise what
    they deleted themselves. Newest deletions first."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return []
    window = dt.timedelta(days=settings.GUANXI_RECYCLE_DAYS)
    items: list[RecycleItem] = []
    for model in recyclable_models():
        rows = model._base_manager.filter(deleted_at__isnull=False)
        if not actor.can(Capability.RECYCLE_ALL):
            rows = rows.filter(deleted_by=actor)
        for instance in rows.select_related("deleted_by").order_by("-deleted_at")[:limit]:
            items.append(
                RecycleItem(
                    object_type=object_type_of(model),
                    object_type_label=str(model._meta.verbose_name),
                    instance=instance,
                    purge_at=instance.deleted_at + window,
                )
            )
    items.sort(key=lambda item: item.instance.deleted_at, reverse=True)
    return items[:limit]


def audit_list(
    *,
    actor: Any,
    object_type: str = "",
    object_id: str = "",
    actor_id: int | None = None,
    action: str = "",
) -> QuerySet[AuditEntry]:
    if not getattr(actor, "is_authenticated", False) or not actor.can(Capability.VIEW_AUDIT):
        return AuditEntry.objects.none()
    entries = AuditEntry.objects.all()
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if actor_id is not None:
        # An id no user can have (zero, negative, past the 64-bit column) matches nothing rather
        # than overflowing in the database driver.
        entries = entries.filter(actor_id=actor_id) if 0 < actor_id < 2**63 else entries.none()
    if action:
        entries = entries.filter(action=action)
    return entries


def saved_view_list(*, actor: Any, list_name: str) -> QuerySet[SavedView]:
    """``actor``'s own views of one list, by name. Views are private: nobody sees another's."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return SavedView.objects.none()
    return SavedView.objects.filter(user=actor, list_name=list_name).order_by("name", "id")
