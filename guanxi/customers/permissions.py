"""Access helpers: 404 when a record is outside the data scope, 403 when it is read-only.

Who may write a customer: its owner, and sales managers and administrators for anything they can
see. Pool customers (no owner) are readable by everyone and writable only by managers and
administrators until claimed; reps and key-account managers claim them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.accounts.roles import Role
from guanxi.core.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from guanxi.customers.models import (
    ChurnReason,
    Contact,
    Customer,
    Need,
    NeedCategory,
    Tag,
    VerificationTask,
)
from guanxi.customers.selectors import (
    contact_visible_queryset,
    customer_visible_queryset,
    need_visible_queryset,
    verification_task_visible_queryset,
)

CUSTOMER_MANAGERS = frozenset({Role.ADMINISTRATOR, Role.SALES_MANAGER})
"""Roles that write any customer in their scope, assign owners and keep the tag list."""

CUSTOMER_CREATORS = CUSTOMER_MANAGERS | {Role.SALES_REP, Role.KEY_ACCOUNT_MANAGER}
"""Roles that file new customers (for themselves, unless they are managers)."""


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def customer_manages(actor: Any) -> bool:
    return _active(actor) and actor.role in CUSTOMER_MANAGERS


class CustomerAlreadyClaimedError(ApplicationError):
    """The customer left the pool before this claim: someone else got there first."""

    status_code = 409
    default_code = "already_claimed"
    default_message = _("Someone else has just claimed this customer; it is no longer in the pool.")


def customer_get_for_claim(actor: Any, pk: Any) -> Customer:
    """A customer to claim. Everyone sees the pool, so a live customer outside ``actor``'s scope
    has an owner: it was claimed since the actor saw it, and the answer says so instead of 404.
    That tells no more than the pool list did a moment earlier."""
    if not customer_can_claim(actor):
        raise PermissionDeniedError()
    customer = customer_visible_queryset(actor=actor).filter(pk=_int(pk)).first()
    if customer is not None:
        return customer
    if Customer.objects.filter(pk=_int(pk)).exists():
        raise CustomerAlreadyClaimedError()
    raise NotFoundError()


def customer_can_claim(actor: Any) -> bool:
    """Who takes customers from the pool: whoever files customers."""
    return customer_can_create(actor)


def pool_holding_exempt(actor: Any) -> bool:
    """Managers and administrators are not bound by the holding cap."""
    return customer_manages(actor)


def pool_policy_can_edit(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def pool_policy_require_edit(actor: Any) -> None:
    if not pool_policy_can_edit(actor):
        raise PermissionDeniedError()


def customer_require_manage(actor: Any) -> None:
    if not customer_manages(actor):
        raise PermissionDeniedError()


def customer_can_write(actor: Any, customer: Customer) -> bool:
    """For a customer ``actor`` can already see."""
    if not _active(actor):
        return False
    if customer.owner_id is not None and customer.owner_id == actor.pk:
        return True
    return customer_manages(actor)


def contact_reveal_allowed(actor: Any) -> bool:
    """Whether ``actor``'s role may reveal masked contact data (RoleSetting.reveal_personal_data,
    which administrators edit per role). Who sees data in full without asking is
    selectors.contact_shown_in_full: the owner."""
    return _active(actor) and bool(actor.role_setting.reveal_personal_data)


def contact_can_reveal(actor: Any, customer: Customer) -> bool:
    """Whether the customer page offers "Show" on ``customer``'s masked contacts: the role may
    reveal, the customer has an owner (pool records stay masked until claimed) and it is not
    ``actor`` (the owner sees them in full already). The daily limit is checked when asked."""
    return (
        customer.owner_id is not None
        and customer.owner_id != actor.pk
        and contact_reveal_allowed(actor)
    )


def customer_can_create(actor: Any) -> bool:
    return _active(actor) and actor.role in CUSTOMER_CREATORS


def customer_require_create(actor: Any) -> None:
    if not customer_can_create(actor):
        raise PermissionDeniedError()


def customer_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Customer:
    customer = customer_visible_queryset(actor=actor).filter(pk=_int(pk)).first()
    if customer is None:
        raise NotFoundError()
    if write and not customer_can_write(actor, customer):
        raise PermissionDeniedError()
    return customer


def contact_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Contact:
    contact = (
        contact_visible_queryset(actor=actor).select_related("customer").filter(pk=_int(pk)).first()
    )
    if contact is None:
        raise NotFoundError()
    if write and not customer_can_write(actor, contact.customer):
        raise PermissionDeniedError()
    return contact


def tag_require_create(actor: Any) -> None:
    if not customer_manages(actor):
        raise PermissionDeniedError()


def tag_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Tag:
    tag = Tag.objects.filter(pk=_int(pk)).first()
    if tag is None or not _active(actor):
        raise NotFoundError()
    if write and not customer_manages(actor):
        raise PermissionDeniedError()
    return tag


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# --- needs (C2) ---------------------------------------------------------------------------------
# A need is part of its customer's record: whoever reads the customer reads its needs, whoever
# writes the customer writes them (pool customers' needs: managers and administrators, as for the
# customer itself). The category list is reference data that administrators keep.


def need_can_write(actor: Any, need: Need) -> bool:
    """For a need ``actor`` can already see."""
    return customer_can_write(actor, need.customer)


def need_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Need:
    need = (
        need_visible_queryset(actor=actor).select_related("customer").filter(pk=_row_id(pk)).first()
    )
    if need is None:
        raise NotFoundError()
    if write and not need_can_write(actor, need):
        raise PermissionDeniedError()
    return need


def need_category_can_edit(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def need_category_require_edit(actor: Any) -> None:
    if not need_category_can_edit(actor):
        raise PermissionDeniedError()


def need_category_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> NeedCategory:
    category = NeedCategory.objects.filter(pk=_row_id(pk)).first()
    if category is None or not _active(actor):
        raise NotFoundError()
    if write and not need_category_can_edit(actor):
        raise PermissionDeniedError()
    return category


def _row_id(value: Any) -> int:
    """``value`` as a row id; anything past the 64-bit column is no row rather than an
    overflow in the database driver."""
    number = _int(value)
    return number if 0 < number < 2**63 else -1


# --- history library ----------------------------------------------------------------------------
# Moving a customer into the history library and back follows the write rules of the customer
# (its owner, managers and administrators in their scope): customer_get_for_user(write=True).
# The churn reasons are reference data that administrators keep; everyone reads them, and the
# breakdown counts whatever each reader's data scope holds.


def churn_reason_can_edit(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def churn_reason_require_edit(actor: Any) -> None:
    if not churn_reason_can_edit(actor):
        raise PermissionDeniedError()


def churn_reason_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> ChurnReason:
    reason = ChurnReason.objects.filter(pk=_row_id(pk)).first()
    if reason is None or not _active(actor):
        raise NotFoundError()
    if write and not churn_reason_can_edit(actor):
        raise PermissionDeniedError()
    return reason


# --- verification -------------------------------------------------------------------------------
# A task is part of its customer's record: whoever sees the customer sees its task, whoever
# writes the customer (its owner first of all) confirms it. The stale-data report is for those
# who answer for a team's data: sales managers and administrators, each within their scope.
# Creating a quarter's tasks by hand, outside the schedule, is for administrators.


def verification_task_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> VerificationTask:
    task = (
        verification_task_visible_queryset(actor=actor)
        .select_related("customer")
        .filter(pk=_row_id(pk))
        .first()
    )
    if task is None:
        raise NotFoundError()
    if write and not customer_can_write(actor, task.customer):
        raise PermissionDeniedError()
    return task


def verification_report_can_view(actor: Any) -> bool:
    return customer_manages(actor)


def verification_report_require_view(actor: Any) -> None:
    if not verification_report_can_view(actor):
        raise PermissionDeniedError()


def verification_tasks_can_create(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def verification_tasks_require_create(actor: Any) -> None:
    if not verification_tasks_can_create(actor):
        raise PermissionDeniedError()
