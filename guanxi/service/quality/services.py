"""Writes of quality review (C12): score sheets and their criteria, drawing the sample, scoring,
and the agent's acknowledgement or dispute and its resolution.

Every write: explicit actor, full_clean, one transaction, audit. A sheet stays editable while in
use: a review copies what it is scored on (criterion names, maxima, critical flags, the pass
mark) into its own rows and stores its totals, so a later change of the sheet never changes a
past review. One review per sheet and item is the database's unique constraint; a second one,
submitted at once or later, is a 409 ``already_reviewed`` and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from guanxi.accounts.models import User
from guanxi.accounts.roles import Role
from guanxi.core.audit import audit_record, snapshot
from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.core.services import model_create, model_update, object_soft_delete
from guanxi.core.validation import (
    actor_is_user,
    text_clean,
)
from guanxi.engagement.models import Interaction
from guanxi.service.models import Ticket
from guanxi.service.quality.errors import (
    AlreadyReviewedError,
    ReviewStateError,
)
from guanxi.service.quality.models import (
    ItemKind,
    Review,
    ReviewAssignment,
    ReviewScore,
    ScoreCriterion,
    ScoreSheet,
)
from guanxi.service.quality.permissions import (
    quality_review_can_resolve,
    quality_review_require_item,
    quality_sheet_can_edit,
)
from guanxi.service.quality.selectors import (
    quality_reviews_kind,
    quality_sample_candidates,
    quality_sheet_criteria,
)

PER_AGENT_MAX = 50
PERIOD_MAX_DAYS = 366
COMMENT_LIMIT = 4000
CRITERION_COMMENT_LIMIT = 1000
REASON_LIMIT = 2000

SHEET_EDITABLE_FIELDS = frozenset({"name", "description", "pass_percent", "active"})
CRITERION_EDITABLE_FIELDS = frozenset({"name", "description", "max_points", "critical", "position"})

NOTIFICATION_KINDS = {
    "quality_reviewed": _("Quality review of your work"),
    "quality_disputed": _("Quality review disputed"),
    "quality_resolved": _("Quality review dispute resolved"),
}


def _unknown_fields(data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(
            {name: [_("This field cannot be changed here.")] for name in sorted(unknown)}
        )


def _require_sheet_editor(actor: Any) -> None:
    if not quality_sheet_can_edit(actor):
        raise PermissionDeniedError()


# --- sheets -------------------------------------------------------------------------------------


def quality_sheet_create(
    *,
    actor: Any,
    name: str,
    applies_to: str,
    description: str = "",
    pass_percent: int = 80,
    active: bool = True,
    criteria: Sequence[Mapping[str, Any]] = (),
) -> ScoreSheet:
    """A new sheet, with its criteria if given (each ``{name, max_points, description?,
    critical?}``, in order). What a sheet applies to is fixed once it exists."""
    _require_sheet_editor(actor)
    sheet = ScoreSheet(
        name=(name or "").strip(),
        applies_to=applies_to or "",
        description=(description or "").strip(),
        pass_percent=pass_percent,
        active=bool(active),
    )
    with transaction.atomic():
        model_create(instance=sheet, actor=actor)
        errors: dict[str, list[str]] = {}
        for index, values in enumerate(criteria or (), start=1):
            try:
                quality_criterion_create(
                    actor=actor,
                    sheet=sheet,
                    name=values.get("name", ""),
                    max_points=values.get("max_points"),
                    description=values.get("description", ""),
                    critical=bool(values.get("critical", False)),
                    position=index,
                )
            except ValidationError as error:
                for field_name, messages in error.message_dict.items():
                    errors.setdefault(f"criteria.{index - 1}.{field_name}", []).extend(messages)
        if errors:
            # Nothing of the sheet is kept when one of its criteria is refused.
            raise ValidationError(errors)
    return sheet


def quality_sheet_update(
    *,
    actor: Any,
    sheet: ScoreSheet,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ScoreSheet:
    """Change a sheet's name, description, pass mark or whether it is in use. Past reviews keep
    the pass mark they were judged by."""
    _require_sheet_editor(actor)
    _unknown_fields(data, SHEET_EDITABLE_FIELDS)
    changes = {
        name: (value.strip() if isinstance(value, str) else value) for name, value in data.items()
    }
    if "description" in changes and changes["description"] is None:
        changes["description"] = ""
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=sheet, data=changes, actor=actor, expected_version=expected_version
    )


def quality_criterion_create(
    *,
    actor: Any,
    sheet: ScoreSheet,
    name: str,
    max_points: Any,
    description: str = "",
    critical: bool = False,
    position: int | None = None,
) -> ScoreCriterion:
    """Add a criterion (at the end unless ``position``). Reviews already made keep theirs."""
    _require_sheet_editor(actor)
    if position is None:
        last = ScoreCriterion.all_objects.filter(sheet=sheet).aggregate(last=Max("position"))
        position = (last["last"] or 0) + 1
    criterion = ScoreCriterion(
        sheet=sheet,
        position=position,
        name=(name or "").strip(),
        description=(description or "").strip(),
        max_points=max_points,
        critical=bool(critical),
    )
    return model_create(instance=criterion, actor=actor)  # type: ignore[return-value]  # returns the instance given


def quality_criterion_update(
    *,
    actor: Any,
    criterion: ScoreCriterion,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ScoreCriterion:
    """Change a criterion. Reviews already made keep the name, maximum and critical flag they
    were scored with (ReviewScore copies them); the next reviews use the new ones."""
    _require_sheet_editor(actor)
    _unknown_fields(data, CRITERION_EDITABLE_FIELDS)
    changes = {
        name: (value.strip() if isinstance(value, str) else value) for name, value in data.items()
    }
    if "description" in changes and changes["description"] is None:
        changes["description"] = ""
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=criterion, data=changes, actor=actor, expected_version=expected_version
    )


def quality_criterion_delete(*, actor: Any, criterion: ScoreCriterion) -> ScoreCriterion:
    """Take a criterion off the sheet (recycle bin). Past reviews keep their scores on it."""
    _require_sheet_editor(actor)
    return object_soft_delete(instance=criterion, actor=actor)  # type: ignore[return-value]  # returns the instance given


# --- sampling -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleResult:
    assignments: list[ReviewAssignment]
    candidates: int  # items that could have been drawn
    agents: int  # agents with at least one candidate


def _period_check(period_start: Any, period_end: Any) -> None:
    errors: dict[str, list[Any]] = {}
    if not isinstance(period_start, dt.date):
        errors["period_start"] = [_("Enter a valid date.")]
    if not isinstance(period_end, dt.date):
        errors["period_end"] = [_("Enter a valid date.")]
    if not errors and (
        period_start > period_end or (period_end - period_start).days >= PERIOD_MAX_DAYS
    ):
        errors["period_start"] = [_("Choose a period of at most a year, its start before its end.")]
    if errors:
        raise ValidationError(errors)


def quality_sample_draw(
    *,
    actor: Any,
    sheet: ScoreSheet,
    period_start: dt.date,
    period_end: dt.date,
    per_agent: int = 3,
    seed: int | None = None,
) -> SampleResult:
    """Draw up to ``per_agent`` random items per agent among the work finished in the period that
    ``actor`` may review with ``sheet`` (quality_sample_candidates: not reviewed with it and not
    drawn for it yet), and put them in ``actor``'s queue. Idempotent per sheet and item: the
    unique constraint decides between two draws at once, the later one skips the item. The same
    ``seed`` over the same candidates picks the same items."""
    if not actor_is_user(actor):
        raise PermissionDeniedError()
    if not quality_reviews_kind(actor, sheet.applies_to):
        raise PermissionDeniedError()
    if not sheet.active:
        raise ValidationError({"sheet": [_("This score sheet is not in use.")]})
    if (
        isinstance(per_agent, bool)
        or not isinstance(per_agent, int)
        or not 1 <= per_agent <= PER_AGENT_MAX
    ):
        raise ValidationError(
            {
                "per_agent": [
                    _("Enter a number from 1 to %(max)s.") % {"max": PER_AGENT_MAX},
                ]
            }
        )
    _period_check(period_start, period_end)
    candidates = quality_sample_candidates(
        actor=actor, sheet=sheet, period_start=period_start, period_end=period_end
    )
    by_agent: dict[int, list[Any]] = {}
    for candidate in sorted(candidates, key=lambda item: (item.agent_id, item.item_id)):
        by_agent.setdefault(candidate.agent_id, []).append(candidate)
    chooser = random.Random(seed) if seed is not None else random.SystemRandom()
    chosen = []
    for agent_id in sorted(by_agent):
        items = by_agent[agent_id]
        chosen.extend(chooser.sample(items, min(per_agent, len(items))))
    now = timezone.now()
    item_field = "ticket_id" if sheet.applies_to == ItemKind.TICKET else "interaction_id"
    rows = [
        ReviewAssignment(
            sheet=sheet,
            kind=sheet.applies_to,
            agent_id=candidate.agent_id,
            reviewer=actor,
            item_at=candidate.item_at,
            created_at=now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
            **{item_field: candidate.item_id},
        )
        for candidate in chosen
    ]
    with transaction.atomic():
        # A concurrent draw may have taken an item since the candidates were read: the
        # constraint keeps its assignment and skips ours.
        ReviewAssignment.objects.bulk_create(rows, ignore_conflicts=True)
        made = list(
            ReviewAssignment.objects.filter(
                sheet=sheet,
                reviewer=actor,
                created_at=now,
                **{f"{item_field}__in": [candidate.item_id for candidate in chosen]},
            ).order_by("item_at", "id")
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACTION,
            obj=sheet,
            changes={"assignments": {"before": None, "after": [row.pk for row in made]}},
            note=(
                f"quality_sample_drawn?count={len(made)}"
                f"&start={period_start.isoformat()}&end={period_end.isoformat()}"
            ),
        )
    return SampleResult(assignments=made, candidates=len(candidates), agents=len(by_agent))


def quality_assignment_release(*, actor: Any, assignment: ReviewAssignment) -> ReviewAssignment:
    """Take a drawn item out of the queue without reviewing it (its reviewer or an
    administrator); it may be drawn again."""
    if not actor_is_user(actor) or (
        assignment.reviewer_id != actor.pk and actor.role != Role.ADMINISTRATOR
    ):
        raise PermissionDeniedError()
    if assignment.status != ReviewAssignment.Status.OPEN:
        raise ReviewStateError(_("This item is no longer in the queue."))
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=assignment,
        data={"status": ReviewAssignment.Status.CANCELLED},
        actor=actor,
    )


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreLine:
    """One criterion as a review scores it: the live criterion's values on submission, the
    review's own copy on a re-check."""

    criterion_id: int
    position: int
    name: str
    max_points: int
    critical: bool
    description: str = ""


@dataclass(frozen=True)
class Verdict:
    total: int
    max_total: int
    percent: Decimal
    critical_failed: bool
    passed: bool


def score_field(criterion_id: int) -> str:
    """The field name a criterion's points go by in errors (and in the review form)."""
    return f"score_{criterion_id}"


def comment_field(criterion_id: int) -> str:
    return f"comment_{criterion_id}"


def _points_clean(line: ScoreLine, value: Any) -> int:
    name = score_field(line.criterion_id)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError({name: [_("Score this criterion.")]}, code="required")
    if isinstance(value, bool):
        raise ValidationError({name: [_("Enter a whole number.")]}, code="invalid")
    try:
        points = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValidationError({name: [_("Enter a whole number.")]}, code="invalid") from None
    if not 0 <= points <= line.max_points:
        raise ValidationError(
            {
                name: [
                    _("Enter a number from 0 to %(max)s.") % {"max": line.max_points},
                ]
            },
            code="out_of_range",
        )
    return points


def quality_scores_clean(
    lines: Sequence[ScoreLine],
    scores: Mapping[Any, Any],
    comments: Mapping[Any, Any] | None = None,
) -> tuple[dict[int, int], dict[int, str]]:
    """Every criterion's points (0 to its maximum, all required) and optional comment, keyed by
    criterion id. Field errors name ``score_<id>`` / ``comment_<id>``; points for a criterion
    that is not on the sheet are an error on ``scores``."""
    errors: dict[str, list[Any]] = {}
    wanted = {line.criterion_id for line in lines}
    given: dict[int, Any] = {}
    stray = False
    for key, value in (scores or {}).items():
        try:
            criterion_id = int(key)
        except (TypeError, ValueError):
            stray = True
            continue
        if criterion_id not in wanted:
            stray = True
            continue
        given[criterion_id] = value
    if stray:
        errors["scores"] = [_("Score only the criteria of this score sheet.")]
    points: dict[int, int] = {}
    notes: dict[int, str] = {}
    comments_by_id: dict[int, Any] = {}
    for key, value in (comments or {}).items():
        try:
            comments_by_id[int(key)] = value
        except (TypeError, ValueError):
            continue
    for line in lines:
        try:
            points[line.criterion_id] = _points_clean(line, given.get(line.criterion_id))
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        try:
            notes[line.criterion_id] = text_clean(
                comment_field(line.criterion_id),
                comments_by_id.get(line.criterion_id, ""),
                limit=CRITERION_COMMENT_LIMIT,
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return points, notes


def quality_verdict(
    lines: Sequence[ScoreLine], points: Mapping[int, int], *, pass_percent: int
) -> Verdict:
    """Total, percentage and pass or fail: at least ``pass_percent`` of the maximum and no
    critical criterion below its full points."""
    total = sum(points[line.criterion_id] for line in lines)
    max_total = sum(line.max_points for line in lines)
    percent = (Decimal(total) * 100 / Decimal(max_total)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    critical_failed = any(
        line.critical and points[line.criterion_id] < line.max_points for line in lines
    )
    # Compared in whole numbers: a rounded percentage must not tip a review over the mark.
    reaches = total * 100 >= pass_percent * max_total
    return Verdict(
        total=total,
        max_total=max_total,
        percent=percent,
        critical_failed=critical_failed,
        passed=reaches and not critical_failed,
    )


def _item_of(
    sheet: ScoreSheet, ticket: Ticket | None, interaction: Interaction | None
) -> tuple[Any, int, dt.datetime | None]:
    """The item, its agent's id and when it was finished; field errors for a mismatch."""
    if (ticket is None) == (interaction is None):
        raise ValidationError({"item": [_("Review one ticket or one interaction.")]})
    if sheet.applies_to == ItemKind.TICKET:
        if ticket is None:
            raise ValidationError({"sheet": [_("This score sheet is for tickets.")]})
        return ticket, ticket.assignee_id, ticket.resolved_at or ticket.closed_at
    if interaction is None:
        raise ValidationError({"sheet": [_("This score sheet is for interactions.")]})
    return interaction, interaction.created_by_id, interaction.occurred_at


def _item_url(review: Review) -> str:
    return reverse("quality:review-detail", args=[review.pk])


def _notify(
    recipients: Sequence[Any], kind: str, message: str, review: Review, **params: Any
) -> None:
    from guanxi.notifications.services import notify

    notify(
        recipients=[user for user in recipients if user is not None],
        kind=kind,
        message=message,
        params={"item": _notify_label(review), **params},
        url=_item_url(review),
        dedupe_key=f"{kind}:{review.pk}:{review.version}",
    )


def _notify_label(review: Review) -> str:
    # A ticket by its number, an interaction by its customer (a company or person's name, no
    # contact details) and day: nothing masked belongs in a notification.
    if review.ticket_id is not None:
        return review.ticket.number
    interaction = review.interaction
    return f"{interaction.customer.name} {timezone.localtime(interaction.occurred_at):%Y-%m-%d}"


def quality_review_submit(
    *,
    actor: Any,
    sheet: ScoreSheet,
    ticket: Ticket | None = None,
    interaction: Interaction | None = None,
    scores: Mapping[Any, Any],
    comments: Mapping[Any, Any] | None = None,
    comment: str = "",
) -> Review:
    """Score ``ticket`` or ``interaction`` on ``sheet``: every live criterion from 0 to its
    maximum, an optional comment per criterion and overall. The total, percentage and verdict
    are computed here and stored with the criteria as they are now. ``actor`` must be allowed to
    review the item (selectors.quality_item_reviewable) and may not review their own work. The
    item's assignment, whoever drew it, is done. The agent is notified."""
    if not actor_is_user(actor):
        raise PermissionDeniedError()
    # The sheet as it is now (pass mark, in use), not as the caller read it.
    current = ScoreSheet.objects.filter(pk=sheet.pk).first()
    if current is None:
        raise NotFoundError()
    sheet = current
    item, agent_id, item_at = _item_of(sheet, ticket, interaction)
    quality_review_require_item(actor, sheet, item)
    if not sheet.active:
        raise ValidationError({"sheet": [_("This score sheet is not in use.")]})
    lines = [
        ScoreLine(
            criterion_id=criterion.pk,
            position=criterion.position,
            name=criterion.name,
            max_points=criterion.max_points,
            critical=criterion.critical,
        )
        for criterion in quality_sheet_criteria(sheet)
    ]
    if not lines:
        raise ValidationError({"sheet": [_("This score sheet has no criteria yet.")]})
    points, notes = quality_scores_clean(lines, scores, comments)
    overall = text_clean("comment", comment, limit=COMMENT_LIMIT)
    verdict = quality_verdict(lines, points, pass_percent=sheet.pass_percent)
    agent = User.objects.select_related("department").get(pk=agent_id)
    review = Review(
        sheet=sheet,
        kind=sheet.applies_to,
        ticket=ticket,
        interaction=interaction,
        agent=agent,
        department=(
            ticket.department if ticket is not None and ticket.department_id else agent.department
        ),
        team=ticket.team if ticket is not None else None,
        reviewer=actor,
        item_at=item_at,
        total=verdict.total,
        max_total=verdict.max_total,
        percent=verdict.percent,
        pass_percent=sheet.pass_percent,
        critical_failed=verdict.critical_failed,
        passed=verdict.passed,
        comment=overall,
        created_by=actor,
        updated_by=actor,
    )
    # The unique constraint on (sheet, item) is left to the database below, so that a double
    # submission, at the same moment or one after the other, is the same clean 409.
    review.full_clean(validate_constraints=False)
    item_filter = {"ticket": ticket} if ticket is not None else {"interaction": interaction}
    with transaction.atomic():
        assignment = (
            ReviewAssignment.objects.select_for_update()
            .filter(sheet=sheet, status=ReviewAssignment.Status.OPEN, **item_filter)
            .first()
        )
        review.assignment = assignment
        try:
            with transaction.atomic():
                review.save(force_insert=True)
        except IntegrityError as error:
            raise AlreadyReviewedError() from error
        ReviewScore.objects.bulk_create(
            [
                ReviewScore(
                    review=review,
                    criterion_id=line.criterion_id,
                    position=line.position,
                    name=line.name,
                    max_points=line.max_points,
                    critical=line.critical,
                    points=points[line.criterion_id],
                    comment=notes[line.criterion_id],
                )
                for line in lines
            ]
        )
        if assignment is not None:
            ReviewAssignment.objects.filter(pk=assignment.pk).update(
                status=ReviewAssignment.Status.DONE,
                version=F("version") + 1,
                updated_at=timezone.now(),
                updated_by=actor,
            )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            obj=review,
            changes={
                **{
                    name: {"before": None, "after": value}
                    for name, value in snapshot(review).items()
                },
                "scores": {
                    "before": None,
                    "after": {line.name: points[line.criterion_id] for line in lines},
                },
            },
        )
        message = (
            gettext_noop("Quality review of %(item)s: %(score)s of %(total)s points, passed.")
            if verdict.passed
            else gettext_noop(
                "Quality review of %(item)s: %(score)s of %(total)s points, not passed."
            )
        )
        _notify(
            [agent],
            "quality_reviewed",
            message,
            review,
            score=verdict.total,
            total=verdict.max_total,
        )
    return review


# --- the agent's word and the re-check ----------------------------------------------------------


def quality_review_acknowledge(
    *, actor: Any, review: Review, expected_version: int | None = None
) -> Review:
    """The agent accepts the review."""
    if not actor_is_user(actor) or review.agent_id != actor.pk:
        raise PermissionDeniedError()
    if review.status != Review.Status.SUBMITTED:
        raise ReviewStateError(_("This review has already been answered."))
    return model_update(  # type: ignore[return-value]  # returns the instance given
        instance=review,
        data={"status": Review.Status.ACKNOWLEDGED, "acknowledged_at": timezone.now()},
        actor=actor,
        expected_version=expected_version,
    )


def quality_dispute_resolvers(review: Review) -> list[User]:
    """Who hears of a dispute: the reviewer's manager if they have an active one, else the
    active administrators; never the reviewer or the agent."""
    excluded = {review.reviewer_id, review.agent_id}
    manager_id = review.reviewer.manager_id
    if manager_id and manager_id not in excluded:
        manager = User.objects.filter(pk=manager_id, is_active=True).first()
        if manager is not None:
            return [manager]
    return list(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True)
        .exclude(pk__in=excluded)
        .order_by("pk")
    )


def quality_review_dispute(
    *, actor: Any, review: Review, reason: str, expected_version: int | None = None
) -> Review:
    """The agent disputes the review, saying why; the reviewer's manager (or an administrator)
    re-checks it."""
    if not actor_is_user(actor) or review.agent_id != actor.pk:
        raise PermissionDeniedError()
    if review.status != Review.Status.SUBMITTED:
        raise ReviewStateError(_("This review has already been answered."))
    text = text_clean("reason", reason, limit=REASON_LIMIT, required=True)
    with transaction.atomic():
        updated = model_update(
            instance=review,
            data={
                "status": Review.Status.DISPUTED,
                "dispute_reason": text,
                "disputed_at": timezone.now(),
            },
            actor=actor,
            expected_version=expected_version,
        )
        _notify(
            [*quality_dispute_resolvers(review), review.reviewer],
            "quality_disputed",
            gettext_noop("%(agent)s disputes the quality review of %(item)s."),
            updated,  # type: ignore[arg-type]  # model_update returns the review given
            agent=review.agent.get_full_name(),
        )
    return updated  # type: ignore[return-value]  # returns the instance given


def quality_review_resolve(
    *,
    actor: Any,
    review: Review,
    note: str,
    scores: Mapping[Any, Any] | None = None,
    comments: Mapping[Any, Any] | None = None,
    expected_version: int | None = None,
) -> Review:
    """Settle a dispute (an administrator or the reviewer's manager): a note, and the scores
    corrected if ``scores`` is given, against the criteria the review was scored on (its own
    copy: a sheet changed since does not apply). The totals and verdict follow the new scores."""
    if not quality_review_can_resolve(actor, review):
        raise PermissionDeniedError()
    if review.status != Review.Status.DISPUTED:
        raise ReviewStateError(_("Only a disputed review is settled."))
    text = text_clean("note", note, limit=REASON_LIMIT, required=True)
    data: dict[str, Any] = {
        "status": Review.Status.RESOLVED,
        "resolution_note": text,
        "resolved_at": timezone.now(),
        "resolved_by": actor,
    }
    rows = list(review.scores.order_by("position", "id"))
    changed: list[tuple[ReviewScore, int, str]] = []
    if scores is not None:
        lines = [
            ScoreLine(
                criterion_id=row.criterion_id,
                position=row.position,
                name=row.name,
                max_points=row.max_points,
                critical=row.critical,
            )
            for row in rows
        ]
        points, notes = quality_scores_clean(lines, scores, comments)
        verdict = quality_verdict(lines, points, pass_percent=review.pass_percent)
        data.update(
            total=verdict.total,
            percent=verdict.percent,
            critical_failed=verdict.critical_failed,
            passed=verdict.passed,
        )
        changed = [
            (row, points[row.criterion_id], notes[row.criterion_id] or row.comment)
            for row in rows
            if row.points != points[row.criterion_id]
            or (notes[row.criterion_id] and notes[row.criterion_id] != row.comment)
        ]
    with transaction.atomic():
        updated = model_update(
            instance=review, data=data, actor=actor, expected_version=expected_version
        )
        for row, points_now, comment_now in changed:
            ReviewScore.objects.filter(pk=row.pk).update(points=points_now, comment=comment_now)
        if any(row.points != points_now for row, points_now, _comment in changed):
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                obj=updated,
                changes={
                    f"score:{row.name}": {"before": row.points, "after": points_now}
                    for row, points_now, _comment in changed
                    if row.points != points_now
                },
                note="quality_review_rescored",
            )
        _notify(
            [review.agent, review.reviewer],
            "quality_resolved",
            gettext_noop("The dispute over the quality review of %(item)s is settled."),
            updated,  # type: ignore[arg-type]  # model_update returns the review given
        )
    return updated  # type: ignore[return-value]  # returns the instance given
