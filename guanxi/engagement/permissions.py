"""Access helpers of the follow-up pages and endpoints: 404 when a record is outside the data
scope, 403 when it is visible but read-only.

Interactions, tasks and communication plans are part of their customer's record: whoever sees the
customer sees them (customers.selectors.customer_visible_q), whoever writes the customer (its
owner, managers and administrators in their scope) logs interactions and edits the plan. A task
is also done, snoozed or handed on by its assignee; handing it to someone else is for managers and
administrators. Interactions are changed or removed by their author or a manager. Maintenance
policies and the engine's settings are read by everyone and kept by administrators.
"""

from __future__ import annotations

from typing import Any

from guanxi.accounts.roles import Role
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.customers.models import Customer
from guanxi.customers.permissions import customer_can_write, customer_manages
from guanxi.engagement.models import (
    FollowUpTask,
    Interaction,
    InteractionAttachment,
    MaintenancePolicy,
    MaintenanceRule,
)
from guanxi.engagement.selectors import followup_visible_queryset, interaction_visible_queryset


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _row_id(value: Any) -> int:
    """``value`` as a row id; anything that is not one (or past the 64-bit column) is no row."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


# --- interactions -------------------------------------------------------------------------------


def interaction_can_log(actor: Any, customer: Customer) -> bool:
    """For a customer ``actor`` can see: log a contact with it."""
    return customer_can_write(actor, customer)


def interaction_require_log(actor: Any, customer: Customer) -> None:
    if not interaction_can_log(actor, customer):
        raise PermissionDeniedError()


def interaction_can_write(actor: Any, interaction: Interaction) -> bool:
    """Change or remove an interaction ``actor`` can see: its author (while they may still write
    the customer) or a manager or administrator who may write the customer."""
    if not customer_can_write(actor, interaction.customer):
        return False
    return interaction.created_by_id == actor.pk or customer_manages(actor)


def interaction_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> Interaction:
    interaction = (
        interaction_visible_queryset(actor=actor)
        .select_related("customer", "created_by")
        .filter(pk=_row_id(pk))
        .first()
    )
    if interaction is None:
        raise NotFoundError()
    if write and not interaction_can_write(actor, interaction):
        raise PermissionDeniedError()
    return interaction


def attachment_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> InteractionAttachment:
    attachment = (
        InteractionAttachment.objects.select_related("interaction__customer")
        .filter(
            pk=_row_id(pk),
            interaction__in=interaction_visible_queryset(actor=actor),
        )
        .first()
    )
    if attachment is None:
        raise NotFoundError()
    if write and not interaction_can_write(actor, attachment.interaction):
        raise PermissionDeniedError()
    return attachment


# --- tasks --------------------------------------------------------------------------------------


def followup_can_work(actor: Any, task: FollowUpTask) -> bool:
    """Complete or snooze a task ``actor`` can see: its assignee, or whoever writes the customer."""
    if not _active(actor):
        return False
    return task.assignee_id == actor.pk or customer_can_write(actor, task.customer)


def followup_can_reassign(actor: Any, task: FollowUpTask) -> bool:
    return customer_manages(actor) and customer_can_write(actor, task.customer)


def followup_get_for_user(
    actor: Any, pk: Any, *, write: bool = False, reassign: bool = False
) -> FollowUpTask:
    task = (
        followup_visible_queryset(actor=actor)
        .select_related("customer", "assignee")
        .filter(pk=_row_id(pk))
        .first()
    )
    if task is None:
        raise NotFoundError()
    if write and not followup_can_work(actor, task):
        raise PermissionDeniedError()
    if reassign and not followup_can_reassign(actor, task):
        raise PermissionDeniedError()
    return task


# --- policies and settings ----------------------------------------------------------------------


def policy_can_edit(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def policy_require_edit(actor: Any) -> None:
    if not policy_can_edit(actor):
        raise PermissionDeniedError()


def policy_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> MaintenancePolicy:
    if not _active(actor):
        raise NotFoundError()
    policy = MaintenancePolicy.objects.filter(pk=_row_id(pk)).first()
    if policy is None:
        raise NotFoundError()
    if write:
        policy_require_edit(actor)
    return policy


def rule_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> MaintenanceRule:
    if not _active(actor):
        raise NotFoundError()
    rule = (
        MaintenanceRule.objects.select_related("policy")
        .filter(pk=_row_id(pk), policy__deleted_at__isnull=True)
        .first()
    )
    if rule is None:
        raise NotFoundError()
    if write:
        policy_require_edit(actor)
    return rule


# --- communication plans ------------------------------------------------------------------------


def plan_can_edit(actor: Any, customer: Customer) -> bool:
    """Whoever may edit the customer edits its communication plan."""
    return customer_can_write(actor, customer)


def plan_require_edit(actor: Any, customer: Customer) -> None:
    if not plan_can_edit(actor, customer):
        raise PermissionDeniedError()


# --- the signed-in user's own pages -------------------------------------------------------------


def user_require_active(actor: Any) -> None:
    if not _active(actor):
        raise PermissionDeniedError()
