"""REST endpoints of quality review under /quality: score sheets and criteria, the sample draw
and the review queue, reviews with the agent's acknowledgement or dispute and its resolution,
and the figures."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.engagement.permissions import interaction_get_for_user
from guanxi.service.permissions import ticket_get_for_user
from guanxi.service.quality import services
from guanxi.service.quality.models import Review, ReviewAssignment, ScoreSheet
from guanxi.service.quality.permissions import (
    quality_assignment_get_for_user,
    quality_criterion_get_for_user,
    quality_require_active,
    quality_require_reviewer,
    quality_review_get_for_user,
    quality_sheet_get_for_user,
    quality_sheet_require_edit,
)
from guanxi.service.quality.schemas import (
    AcknowledgeIn,
    AssignmentOut,
    AssignmentPage,
    CriterionCreateIn,
    CriterionOut,
    CriterionPatchIn,
    DisputeIn,
    FiguresOut,
    ResolveIn,
    ReviewIn,
    ReviewOut,
    ReviewPage,
    SampleIn,
    SampleOut,
    SheetIn,
    SheetOut,
    SheetPatchIn,
)
from guanxi.service.quality.selectors import (
    REVIEW_VIEWS,
    FigureRow,
    quality_assignment_page,
    quality_figures,
    quality_item_label,
    quality_review_detail,
    quality_review_page,
    quality_sheet_list,
)

router = Router(tags=["quality"])

_FIELD = re.compile(r"^(score|comment)_(\d+)$")


def _api_fields(error: ValidationError) -> ValidationError:
    """The services name a criterion's fields ``score_<id>`` / ``comment_<id>``; the API names
    them after its payload: ``scores.<id>`` / ``comments.<id>``."""
    if not hasattr(error, "error_dict"):
        return error
    fields: dict[str, list[Any]] = {}
    for name, errors in error.error_dict.items():
        match = _FIELD.match(name)
        if match:
            name = f"{'scores' if match.group(1) == 'score' else 'comments'}.{match.group(2)}"
        elif name in ("sheet", "item"):
            name = f"{name}_id"
        fields.setdefault(name, []).extend(errors)
    return ValidationError(fields)


# --- sheets -------------------------------------------------------------------------------------


def _criterion_out(criterion: Any) -> dict[str, Any]:
    return {
        "id": criterion.pk,
        "position": criterion.position,
        "name": criterion.name,
        "description": criterion.description,
        "max_points": criterion.max_points,
        "critical": criterion.critical,
        "version": criterion.version,
    }


def _sheet_out(sheet: ScoreSheet) -> dict[str, Any]:
    """``sheet`` as selectors.quality_sheet_list loads it."""
    criteria = list(sheet.criteria.all())
    return {
        "id": sheet.pk,
        "name": sheet.name,
        "applies_to": sheet.applies_to,
        "description": sheet.description,
        "pass_percent": sheet.pass_percent,
        "active": sheet.active,
        "criteria": [_criterion_out(criterion) for criterion in criteria],
        "max_total": sum(criterion.max_points for criterion in criteria),
        "review_count": getattr(sheet, "review_count", 0),
        "version": sheet.version,
    }


def _sheet_reload(sheet: ScoreSheet) -> ScoreSheet:
    return next(item for item in quality_sheet_list() if item.pk == sheet.pk)


@router.get("/quality/sheets", response=list[SheetOut])
def sheet_index(request: HttpRequest, applies_to: str = "") -> list[dict[str, Any]]:
    """The score sheets with their criteria; every user may read them."""
    quality_require_active(request.auth)
    return [_sheet_out(sheet) for sheet in quality_sheet_list(applies_to=applies_to)]


@router.post("/quality/sheets", response={201: SheetOut})
def sheet_add(request: HttpRequest, payload: SheetIn) -> Status[Any]:
    """Administrators: a new sheet, with its criteria in order."""
    quality_sheet_require_edit(request.auth)
    data = payload.dict()
    criteria = data.pop("criteria")
    sheet = services.quality_sheet_create(actor=request.auth, criteria=criteria, **data)
    return Status(201, _sheet_out(_sheet_reload(sheet)))


@router.get("/quality/sheets/{sheet_id}", response=SheetOut)
def sheet_show(request: HttpRequest, sheet_id: int) -> dict[str, Any]:
    return _sheet_out(_sheet_reload(quality_sheet_get_for_user(request.auth, sheet_id)))


@router.patch("/quality/sheets/{sheet_id}", response=SheetOut)
def sheet_edit(request: HttpRequest, sheet_id: int, payload: SheetPatchIn) -> dict[str, Any]:
    """Administrators: name, description, pass mark, in use. Past reviews keep theirs."""
    sheet = quality_sheet_get_for_user(request.auth, sheet_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    updated = services.quality_sheet_update(
        actor=request.auth, sheet=sheet, data=data, expected_version=version
    )
    return _sheet_out(_sheet_reload(updated))


@router.post("/quality/sheets/{sheet_id}/criteria", response={201: CriterionOut})
def criterion_add(request: HttpRequest, sheet_id: int, payload: CriterionCreateIn) -> Status[Any]:
    sheet = quality_sheet_get_for_user(request.auth, sheet_id, write=True)
    criterion = services.quality_criterion_create(actor=request.auth, sheet=sheet, **payload.dict())
    return Status(201, _criterion_out(criterion))


@router.patch("/quality/criteria/{criterion_id}", response=CriterionOut)
def criterion_edit(
    request: HttpRequest, criterion_id: int, payload: CriterionPatchIn
) -> dict[str, Any]:
    criterion = quality_criterion_get_for_user(request.auth, criterion_id, write=True)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version")
    updated = services.quality_criterion_update(
        actor=request.auth, criterion=criterion, data=data, expected_version=version
    )
    return _criterion_out(updated)


@router.delete("/quality/criteria/{criterion_id}", response={204: None})
def criterion_remove(request: HttpRequest, criterion_id: int) -> Status[Any]:
    criterion = quality_criterion_get_for_user(request.auth, criterion_id, write=True)
    services.quality_criterion_delete(actor=request.auth, criterion=criterion)
    return Status(204, None)


# --- sampling and the queue ---------------------------------------------------------------------


def _assignment_out(assignment: ReviewAssignment) -> dict[str, Any]:
    return {
        "id": assignment.pk,
        "sheet_id": assignment.sheet_id,
        "kind": assignment.kind,
        "ticket_id": assignment.ticket_id,
        "interaction_id": assignment.interaction_id,
        "agent": {"id": assignment.agent_id, "name": assignment.agent.get_full_name()},
        "reviewer_id": assignment.reviewer_id,
        "item_at": assignment.item_at,
        "status": assignment.status,
        "version": assignment.version,
    }


@router.post("/quality/samples", response=SampleOut)
def sample_draw(request: HttpRequest, payload: SampleIn) -> dict[str, Any]:
    """Draw up to ``per_agent`` random items per agent among the work finished in the period that
    you may review with the sheet and that is not yet reviewed or drawn with it; they go to your
    queue. Drawing again makes nothing twice."""
    quality_require_reviewer(request.auth)
    sheet = quality_sheet_get_for_user(request.auth, payload.sheet_id)
    result = services.quality_sample_draw(
        actor=request.auth,
        sheet=sheet,
        period_start=payload.period_start,
        period_end=payload.period_end,
        per_agent=payload.per_agent,
        seed=payload.seed,
    )
    assignments = ReviewAssignment.objects.select_related("agent").filter(
        pk__in=[row.pk for row in result.assignments]
    )
    return {
        "created": len(result.assignments),
        "candidates": result.candidates,
        "agents": result.agents,
        "assignments": [_assignment_out(row) for row in assignments.order_by("item_at", "id")],
    }


@router.get("/quality/assignments", response=AssignmentPage)
def assignment_index(
    request: HttpRequest, status: str = "open", cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Your review queue (status ``open`` by default; ``done``, ``cancelled``, or empty for all),
    oldest work first."""
    quality_require_reviewer(request.auth)
    if status not in ("", *ReviewAssignment.Status.values):
        raise ValidationError({"status": [_("Select a valid choice.")]})
    page = quality_assignment_page(actor=request.auth, status=status, cursor=cursor, limit=limit)
    return {
        "items": [_assignment_out(row) for row in page.items],
        "next_cursor": page.next_cursor,
    }


@router.post("/quality/assignments/{assignment_id}/release", response=AssignmentOut)
def assignment_release(request: HttpRequest, assignment_id: int) -> dict[str, Any]:
    assignment = quality_assignment_get_for_user(request.auth, assignment_id, write=True)
    updated = services.quality_assignment_release(actor=request.auth, assignment=assignment)
    return _assignment_out(ReviewAssignment.objects.select_related("agent").get(pk=updated.pk))


# --- reviews ------------------------------------------------------------------------------------


def _review_out(review: Review) -> dict[str, Any]:
    """``review`` as selectors.quality_review_detail loads it."""
    return {
        "id": review.pk,
        "sheet_id": review.sheet_id,
        "sheet_name": review.sheet.name,
        "kind": review.kind,
        "ticket_id": review.ticket_id,
        "interaction_id": review.interaction_id,
        "item_label": (
            review.ticket.number
            if review.ticket_id is not None
            else quality_item_label(interaction=review.interaction)
        ),
        "agent": {"id": review.agent_id, "name": review.agent.get_full_name()},
        "reviewer": {"id": review.reviewer_id, "name": review.reviewer.get_full_name()},
        "team_id": review.team_id,
        "department_id": review.department_id,
        "item_at": review.item_at,
        "total": review.total,
        "max_total": review.max_total,
        "percent": float(review.percent),
        "pass_percent": review.pass_percent,
        "critical_failed": review.critical_failed,
        "passed": review.passed,
        "comment": review.comment,
        "status": review.status,
        "scores": [
            {
                "criterion_id": score.criterion_id,
                "name": score.name,
                "max_points": score.max_points,
                "critical": score.critical,
                "points": score.points,
                "comment": score.comment,
            }
            for score in review.scores.all()
        ],
        "acknowledged_at": review.acknowledged_at,
        "dispute_reason": review.dispute_reason,
        "disputed_at": review.disputed_at,
        "resolution_note": review.resolution_note,
        "resolved_at": review.resolved_at,
        "resolved_by_id": review.resolved_by_id,
        "created_at": review.created_at,
        "version": review.version,
    }


def _review_reload(review: Review) -> dict[str, Any]:
    return _review_out(quality_review_detail(review=review))


@router.post("/quality/reviews", response={201: ReviewOut})
def review_add(request: HttpRequest, payload: ReviewIn) -> Status[Any]:
    """Score a ticket or an interaction on a sheet: every criterion from 0 to its maximum. A
    second review of the same item with the same sheet is 409 ``already_reviewed``; your own work
    is 403; a ticket still being worked is 409 ``item_not_finished``."""
    sheet = quality_sheet_get_for_user(request.auth, payload.sheet_id)
    if (payload.ticket_id is None) == (payload.interaction_id is None):
        raise ValidationError({"ticket_id": [_("Send either ticket_id or interaction_id.")]})
    ticket = interaction = None
    if payload.ticket_id is not None:
        ticket = ticket_get_for_user(request.auth, payload.ticket_id)
    else:
        interaction = interaction_get_for_user(request.auth, payload.interaction_id)
    try:
        review = services.quality_review_submit(
            actor=request.auth,
            sheet=sheet,
            ticket=ticket,
            interaction=interaction,
            scores=payload.scores,
            comments=payload.comments,
            comment=payload.comment,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return Status(201, _review_reload(review))


@router.get("/quality/reviews", response=ReviewPage)
def review_index(
    request: HttpRequest,
    view: str = "all",
    status: str = "",
    sheet_id: int | None = None,
    agent_id: int | None = None,
    passed: bool | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The reviews you may open, newest first. ``view``: ``all``, ``mine`` (of your own work),
    ``given`` (by you), ``disputed``."""
    quality_require_active(request.auth)
    if view not in REVIEW_VIEWS:
        raise ValidationError({"view": [_("Select a valid choice.")]})
    if status and status not in Review.Status.values:
        raise ValidationError({"status": [_("Select a valid choice.")]})
    page = quality_review_page(
        actor=request.auth,
        view=view,
        status=status,
        sheet=sheet_id,
        agent=agent_id,
        passed=passed,
        cursor=cursor,
        limit=limit,
    )
    return {
        "items": [_review_out(review) for review in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/quality/reviews/{review_id}", response=ReviewOut)
def review_show(request: HttpRequest, review_id: int) -> dict[str, Any]:
    return _review_reload(quality_review_get_for_user(request.auth, review_id))


@router.post("/quality/reviews/{review_id}/acknowledge", response=ReviewOut)
def review_acknowledge(
    request: HttpRequest, review_id: int, payload: AcknowledgeIn
) -> dict[str, Any]:
    """The agent whose work was scored accepts the review."""
    review = quality_review_get_for_user(request.auth, review_id, respond=True)
    updated = services.quality_review_acknowledge(
        actor=request.auth, review=review, expected_version=payload.version
    )
    return _review_reload(updated)


@router.post("/quality/reviews/{review_id}/dispute", response=ReviewOut)
def review_dispute(request: HttpRequest, review_id: int, payload: DisputeIn) -> dict[str, Any]:
    """The agent disputes the review with a reason; the reviewer's manager (else the
    administrators) are notified to settle it."""
    review = quality_review_get_for_user(request.auth, review_id, respond=True)
    updated = services.quality_review_dispute(
        actor=request.auth, review=review, reason=payload.reason, expected_version=payload.version
    )
    return _review_reload(updated)


@router.post("/quality/reviews/{review_id}/resolve", response=ReviewOut)
def review_resolve(request: HttpRequest, review_id: int, payload: ResolveIn) -> dict[str, Any]:
    """An administrator or the reviewer's manager settles a dispute: a note, and corrected
    ``scores`` (every criterion of the review) if need be."""
    review = quality_review_get_for_user(request.auth, review_id, resolve=True)
    try:
        updated = services.quality_review_resolve(
            actor=request.auth,
            review=review,
            note=payload.note,
            scores=payload.scores,
            comments=payload.comments,
            expected_version=payload.version,
        )
    except ValidationError as error:
        raise _api_fields(error) from error
    return _review_reload(updated)


# --- figures ------------------------------------------------------------------------------------


def _row_out(row: FigureRow, *, kind: str | None = None) -> dict[str, Any]:
    key = row.key[1] if isinstance(row.key, tuple) else row.key
    out = {
        "id": key,
        "name": row.label,
        "reviews": row.reviews,
        "passed": row.passed,
        "average": row.average,
        "pass_rate": row.pass_rate,
    }
    if kind is not None:
        out["kind"] = kind
    return out


@router.get("/quality/figures", response=FiguresOut)
def figures_show(
    request: HttpRequest,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    kind: str = "",
    sheet_id: int | None = None,
) -> dict[str, Any]:
    """Average score and pass rate per agent, per team and per criterion of the reviews of work
    finished from ``date_from`` to ``date_to`` (by default this month so far), in your scope:
    administrators all, a team lead their teams' agents, a sales manager the interaction reviews
    of their department and below, everyone their own."""
    quality_require_active(request.auth)
    if kind and kind not in ("ticket", "interaction"):
        raise ValidationError({"kind": [_("Select a valid choice.")]})
    today = timezone.localdate()
    end = date_to or today
    start = date_from or end.replace(day=1)
    figures = quality_figures(
        actor=request.auth, period_start=start, period_end=end, kind=kind, sheet=sheet_id
    )
    return {
        "date_from": start,
        "date_to": end,
        "total": _row_out(figures.total),
        "people": [_row_out(row) for row in figures.people],
        "teams": [_row_out(row, kind=row.key[0]) for row in figures.teams],
        "criteria": [
            {
                "criterion_id": row.criterion_id,
                "name": row.label,
                "sheet_name": row.sheet_name,
                "scored": row.scored,
                "full": row.full,
                "average": row.average,
                "critical": row.critical,
                "critical_failed": row.critical_failed,
            }
            for row in figures.criteria
        ],
    }
