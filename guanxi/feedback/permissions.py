"""Access helpers of feedback and surveys: 404 when a record is outside the reader's view, 403
when it is read-only to them.

Feedback items follow their customer and ticket (selectors.feedback_item_visible_q). They are
answered, closed and handed on by their owner, by service agents and administrators, and by
whoever may write the customer (its owner, managers and administrators in their scope:
customers.permissions.customer_can_write); the same people record feedback heard on a call or a
visit. Surveys are shared: everyone signed in reads them (the figures inside are of their own
scope); administrators, analysts, sales managers and service agents create, edit and send them.
"""

from __future__ import annotations

from typing import Any

from guanxi.accounts.roles import Role
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.customers.models import Customer
from guanxi.customers.permissions import customer_can_write
from guanxi.feedback.models import FeedbackItem, Survey
from guanxi.feedback.selectors import feedback_item_visible_queryset, survey_visible_queryset

SURVEY_ROLES = frozenset({Role.ADMINISTRATOR, Role.ANALYST, Role.SALES_MANAGER, Role.SERVICE_AGENT})
"""Roles that create, edit and send surveys (市场 / 分析, managers, the service desk)."""

FEEDBACK_DESK_ROLES = frozenset({Role.ADMINISTRATOR, Role.SERVICE_AGENT})
"""Roles that answer any feedback item they see."""


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _row_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


# --- feedback items -----------------------------------------------------------------------------


def feedback_item_can_answer(actor: Any, item: FeedbackItem) -> bool:
    """For an item ``actor`` can already see: respond to it, close it, hand it on."""
    if not _active(actor):
        return False
    if item.owner_id == actor.pk or actor.role in FEEDBACK_DESK_ROLES:
        return True
    return customer_can_write(actor, item.customer)


def feedback_item_can_record(actor: Any, customer: Customer) -> bool:
    """For a customer ``actor`` can already see: record feedback heard from it."""
    if not _active(actor):
        return False
    return actor.role in FEEDBACK_DESK_ROLES or customer_can_write(actor, customer)


def feedback_item_require_record(actor: Any, customer: Customer) -> None:
    if not feedback_item_can_record(actor, customer):
        raise PermissionDeniedError()


def feedback_item_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> FeedbackItem:
    item = (
        feedback_item_visible_queryset(actor=actor)
        .select_related("customer", "owner", "ticket", "contact")
        .filter(pk=_row_id(pk))
        .first()
    )
    if item is None:
        raise NotFoundError()
    if write and not feedback_item_can_answer(actor, item):
        raise PermissionDeniedError()
    return item


# --- surveys ------------------------------------------------------------------------------------


def survey_can_manage(actor: Any) -> bool:
    return _active(actor) and actor.role in SURVEY_ROLES


def survey_require_manage(actor: Any) -> None:
    if not survey_can_manage(actor):
        raise PermissionDeniedError()


def survey_require_read(actor: Any) -> None:
    if not _active(actor):
        raise PermissionDeniedError()


def survey_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Survey:
    survey = survey_visible_queryset(actor=actor).filter(pk=_row_id(pk)).first()
    if survey is None:
        raise NotFoundError()
    if write and not survey_can_manage(actor):
        raise PermissionDeniedError()
    return survey
