"""Access helpers for merging: 404 outside the data scope, 403 where read-only or not a manager.

Merging and undoing are for sales managers and administrators, on customers in their data scope
(which they may write, pool customers included). A merge record is read by whoever may see the
customer it went into.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.customers.merge.services import CustomerMergeError
from guanxi.customers.models import Customer, CustomerMerge
from guanxi.customers.permissions import (
    customer_can_write,
    customer_get_for_user,
    customer_manages,
)
from guanxi.customers.selectors import customer_visible_q, customer_visible_queryset


def _row_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def customer_merge_require(actor: Any) -> None:
    if not customer_manages(actor):
        raise PermissionDeniedError()


def customer_get_for_merge(actor: Any, pk: Any) -> Customer:
    """The customer to merge into another: live, in ``actor``'s scope and writable. One already
    merged (in the recycle bin, pointing at its survivor) is a 409 that says so, for those who
    could see it; anything else out of reach is a 404."""
    customer = customer_visible_queryset(actor=actor).filter(pk=_row_id(pk)).first()
    if customer is None:
        merged = (
            Customer.all_objects.filter(customer_visible_q(actor), pk=_row_id(pk))
            .exclude(merged_into__isnull=True)
            .first()
        )
        if merged is not None:
            raise CustomerMergeError(
                _("“%(name)s” has already been merged into another customer.")
                % {"name": merged.name},
                code="already_merged",
            )
        raise NotFoundError()
    if not customer_can_write(actor, customer):
        raise PermissionDeniedError()
    return customer


def customer_merge_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> CustomerMerge:
    """A merge whose survivor ``actor`` may see (404 otherwise); ``write`` (undo): a manager or
    administrator who may write the survivor (403 otherwise)."""
    merge = CustomerMerge.objects.select_related("survivor").filter(pk=_row_id(pk)).first()
    if merge is None:
        raise NotFoundError()
    survivor = customer_get_for_user(actor, merge.survivor_id)
    if write and not (customer_manages(actor) and customer_can_write(actor, survivor)):
        raise PermissionDeniedError()
    return merge
