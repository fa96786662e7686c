"""Access helpers of quality review: 404 when a record is outside the reader's view, 403 when it
is visible but not theirs to act on.

Score sheets are read by every signed-in user (the standard is no secret to the people it
measures) and kept by administrators. Reviewers (administrators, service team leads, sales
managers: see selectors) draw samples and review; a review is acknowledged or disputed by the
agent whose work it scored; a dispute is settled by an administrator or the reviewer's manager,
never by the reviewer or the agent.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.accounts.roles import Role
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.engagement.models import Interaction
from guanxi.service.models import Ticket
from guanxi.service.quality.errors import ItemNotFinishedError
from guanxi.service.quality.models import Review, ReviewAssignment, ScoreCriterion, ScoreSheet
from guanxi.service.quality.selectors import (
    FINISHED_TICKET_STATUSES,
    quality_is_reviewer,
    quality_item_reviewable,
    quality_review_visible_queryset,
    quality_reviews_kind,
)


def _active(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active


def _row_id(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 0 < number < 2**63 else -1


def quality_require_active(actor: Any) -> None:
    if not _active(actor):
        raise PermissionDeniedError()


# --- sheets -------------------------------------------------------------------------------------


def quality_sheet_can_edit(actor: Any) -> bool:
    return _active(actor) and actor.role == Role.ADMINISTRATOR


def quality_sheet_require_edit(actor: Any) -> None:
    if not quality_sheet_can_edit(actor):
        raise PermissionDeniedError()


def quality_sheet_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> ScoreSheet:
    if not _active(actor):
        raise NotFoundError()
    sheet = ScoreSheet.objects.filter(pk=_row_id(pk)).first()
    if sheet is None:
        raise NotFoundError()
    if write:
        quality_sheet_require_edit(actor)
    return sheet


def quality_criterion_get_for_user(actor: Any, pk: Any, *, write: bool = False) -> ScoreCriterion:
    if not _active(actor):
        raise NotFoundError()
    criterion = (
        ScoreCriterion.objects.select_related("sheet")
        .filter(pk=_row_id(pk), sheet__deleted_at__isnull=True)
        .first()
    )
    if criterion is None:
        raise NotFoundError()
    if write:
        quality_sheet_require_edit(actor)
    return criterion


# --- reviewing ----------------------------------------------------------------------------------


def quality_can_review(actor: Any) -> bool:
    """Is ``actor`` a reviewer of anything (the queue, the draw)?"""
    return quality_is_reviewer(actor)


def quality_require_reviewer(actor: Any) -> None:
    if not quality_can_review(actor):
        raise PermissionDeniedError()


def quality_can_draw(actor: Any, sheet: ScoreSheet) -> bool:
    return quality_reviews_kind(actor, sheet.applies_to)


def quality_item_agent_id(item: Ticket | Interaction) -> int | None:
    """Whose work ``item`` is: a ticket's assignee, an interaction's author."""
    return item.assignee_id if isinstance(item, Ticket) else item.created_by_id


def quality_review_require_item(actor: Any, sheet: ScoreSheet, item: Ticket | Interaction) -> None:
    """For an item ``actor`` can see: may they review it with ``sheet``? 403 for their own work
    or an item outside what they review; 409 for a ticket still being worked."""
    if not _active(actor):
        raise PermissionDeniedError()
    if quality_item_agent_id(item) == actor.pk:
        raise PermissionDeniedError(_("Nobody reviews their own work."), code="own_work")
    if not quality_reviews_kind(actor, sheet.applies_to):
        raise PermissionDeniedError()
    if isinstance(item, Ticket) and item.status not in FINISHED_TICKET_STATUSES:
        raise ItemNotFinishedError()
    if not quality_item_reviewable(actor=actor, item=item):
        raise PermissionDeniedError()


def quality_assignment_get_for_user(
    actor: Any, pk: Any, *, write: bool = False
) -> ReviewAssignment:
    """An assignment is its reviewer's (and visible to administrators)."""
    if not _active(actor):
        raise NotFoundError()
    assignment = (
        ReviewAssignment.objects.select_related("sheet", "ticket", "interaction", "agent")
        .filter(pk=_row_id(pk))
        .first()
    )
    if assignment is None:
        raise NotFoundError()
    if assignment.reviewer_id != actor.pk and actor.role != Role.ADMINISTRATOR:
        raise NotFoundError()
    return assignment


# --- reviews ------------------------------------------------------------------------------------


def quality_review_can_respond(actor: Any, review: Review) -> bool:
    """Acknowledge or dispute: the agent whose work was scored, while it awaits their word."""
    return (
        _active(actor) and review.agent_id == actor.pk and review.status == Review.Status.SUBMITTED
    )


def quality_review_can_resolve(actor: Any, review: Review) -> bool:
    """Settle a dispute: an administrator or the reviewer's manager, neither the reviewer nor the
    agent."""
    if not _active(actor) or actor.pk in (review.reviewer_id, review.agent_id):
        return False
    if actor.role == Role.ADMINISTRATOR:
        return True
    return review.reviewer.manager_id == actor.pk


def quality_review_get_for_user(
    actor: Any, pk: Any, *, respond: bool = False, resolve: bool = False
) -> Review:
    review = (
        quality_review_visible_queryset(actor=actor)
        .select_related("sheet", "agent", "reviewer", "ticket", "interaction")
        .filter(pk=_row_id(pk))
        .first()
    )
    if review is None:
        raise NotFoundError()
    if respond and review.agent_id != actor.pk:
        raise PermissionDeniedError()
    if resolve and not quality_review_can_resolve(actor, review):
        raise PermissionDeniedError()
    return review
