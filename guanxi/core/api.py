from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from guanxi.core import services
from guanxi.core.pagination import keyset_paginate
from guanxi.core.permissions import (
    audit_require_access,
    recycle_item_get_for_user,
    saved_view_get_for_user,
)
from guanxi.core.schemas import (
    AuditPage,
    RecycleItemOut,
    RestoredOut,
    SavedViewIn,
    SavedViewOut,
)
from guanxi.core.selectors import RecycleItem, audit_list, recycle_bin_list, saved_view_list
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
