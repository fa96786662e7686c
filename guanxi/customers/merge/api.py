"""REST endpoints for merging duplicates: POST /customers/{id}/merge, GET /customer-merges/{id},
POST /customer-merges/{id}/undo."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Status

from guanxi.core.exceptions import validation_error_renamed
from guanxi.customers.merge import services
from guanxi.customers.merge.permissions import (
    customer_get_for_merge,
    customer_merge_get_for_user,
    customer_merge_require,
)
from guanxi.customers.merge.schemas import CustomerMergeIn, CustomerMergeOut
from guanxi.customers.merge.selectors import merge_can_undo, merge_field_label, merge_undo_deadline
from guanxi.customers.models import CustomerMerge
from guanxi.customers.permissions import customer_get_for_user

router = Router(tags=["customers"])


def _api_fields(error: ValidationError) -> ValidationError:
    # The service names the merged customer ``merged``; the API sends ``merged_id``.
    return validation_error_renamed(error, {"merged": "merged_id"})


def _fields(names: list[str]) -> list[dict[str, str]]:
    return [{"name": name, "label": merge_field_label(name)} for name in names]


def _merge_out(merge: CustomerMerge) -> dict[str, Any]:
    report = merge.undo_report or None
    return {
        "id": merge.pk,
        "survivor_id": merge.survivor_id,
        "merged_id": merge.merged_record_id,
        "merged_name": merge.merged_name,
        "merged_in_recycle_bin": merge.merged_id is not None and merge.undone_at is None,
        "merged_at": merge.merged_at,
        "merged_by_id": merge.merged_by_id,
        "values": merge.values,
        "survivor_before": merge.survivor_before,
        "survivor_after": merge.survivor_after,
        "moved": {
            "contact_ids": merge.contact_ids,
            "need_ids": merge.need_ids,
            "tag_ids": merge.tag_ids_added,
            "subsidiary_ids": merge.subsidiary_ids,
        },
        "undo_until": merge_undo_deadline(merge),
        "can_undo": merge_can_undo(merge),
        "undone_at": merge.undone_at,
        "undone_by_id": merge.undone_by_id,
        "undo_report": None
        if report is None
        else {
            "restored": _fields(report.get("restored", [])),
            "kept": _fields(report.get("kept", [])),
            "not_restored": report.get("not_restored", {}),
            "moved_back": report.get("moved_back", {}),
            "not_moved_back": report.get("not_moved_back", {}),
        },
    }


@router.post("/customers/{customer_id}/merge", response={201: CustomerMergeOut})
def customer_merge(request: HttpRequest, customer_id: int, payload: CustomerMergeIn) -> Status[Any]:
    """Merge ``merged_id`` into this customer (sales managers and administrators). Refusals:
    ``conflict`` (409, a stale version; ``current_versions`` has both), ``already_merged`` (409),
    field errors under ``values.<field>`` (422). Everything happens or nothing does."""
    survivor = customer_get_for_user(request.auth, customer_id, write=True)
    customer_merge_require(request.auth)
    merged = customer_get_for_merge(request.auth, payload.merged_id)
    try:
        merge = services.customer_merge(
            actor=request.auth,
            survivor=survivor,
            merged=merged,
            values=payload.values,
            expected_versions=payload.versions.dict(),
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _merge_out(merge))


@router.get("/customer-merges/{merge_id}", response=CustomerMergeOut)
def customer_merge_show(request: HttpRequest, merge_id: int) -> dict[str, Any]:
    """A merge: what moved, the survivor's fields before and after, and whether it can still be
    undone. For whoever may see the customer kept."""
    return _merge_out(customer_merge_get_for_user(request.auth, merge_id))


@router.post("/customer-merges/{merge_id}/undo", response=CustomerMergeOut)
def customer_merge_undo(request: HttpRequest, merge_id: int) -> dict[str, Any]:
    """Separate the two customers again, within the recycle window. ``undo_report.kept`` names
    the fields changed since the merge, which keep their newer value. Refusals (409):
    ``merge_undone``, ``merge_undo_expired``, ``merge_undo_purged``, ``survivor_deleted``,
    ``survivor_merged``."""
    merge = customer_merge_get_for_user(request.auth, merge_id, write=True)
    return _merge_out(services.customer_merge_undo(actor=request.auth, merge=merge))
