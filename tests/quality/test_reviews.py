"""Scoring: validation (every criterion, 0 to its maximum, nothing saved on an error), totals and
verdicts (pass mark, critical criteria), who may review what, one review per sheet and item, and
a sheet edited after it was used."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.exceptions import PermissionDeniedError
from guanxi.notifications.models import Notification
from guanxi.service.quality import services
from guanxi.service.quality.errors import AlreadyReviewedError, ItemNotFinishedError
from guanxi.service.quality.models import Review, ReviewAssignment, ScoreCriterion
from tests.quality.conftest import (
    World,
    db_state,
    full_scores,
    make_interaction,
    make_ticket,
    review_interaction,
    review_ticket,
)

pytestmark = pytest.mark.django_db


def _criterion(world: World, name: str, *, sheet: str = "ticket") -> ScoreCriterion:
    chosen = world.ticket_sheet if sheet == "ticket" else world.interaction_sheet
    return ScoreCriterion.objects.get(sheet=chosen, name=name)


# --- totals and verdicts ------------------------------------------------------------------------


def test_a_full_review_passes_with_its_total_and_scores_copied(world):
    # given a closed ticket of the agent
    ticket = make_ticket(world, assignee=world.org.agent)
    # when the team lead scores it, losing 5 points on 解决方案
    review = review_ticket(world, ticket, 解决方案=20)
    # then the totals are computed and stored with the criteria as they were
    assert (review.total, review.max_total) == (95, 100)
    assert review.percent == Decimal("95.00")
    assert review.passed is True and review.critical_failed is False
    assert review.agent == world.org.agent and review.reviewer == world.lead
    assert review.team == world.team and review.department == world.org.service
    assert review.status == Review.Status.SUBMITTED
    rows = list(review.scores.order_by("position").values_list("name", "max_points", "points"))
    assert rows[2] == ("解决方案", 25, 20)
    assert len(rows) == 6
    # and the agent hears of it, without the ticket's text
    notification = Notification.objects.get(recipient=world.org.agent, kind="quality_reviewed")
    assert notification.params == {"item": ticket.number, "score": 95, "total": 100}


def test_below_the_pass_mark_fails(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    review = review_ticket(world, ticket, 解决方案=5, 沟通态度=14)  # 100 - 20 - 6 = 74
    assert review.total == 74
    assert review.passed is False and review.critical_failed is False


def test_exactly_the_pass_mark_passes(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    review = review_ticket(world, ticket, 解决方案=5)  # 80 of 100
    assert review.percent == Decimal("80.00")
    assert review.passed is True


def test_a_critical_criterion_below_full_points_fails_a_high_score(world):
    # given a ticket scored 99 of 100, the point lost on the critical 服务红线
    ticket = make_ticket(world, assignee=world.org.agent)
    review = review_ticket(world, ticket, 服务红线=4)
    # then the review fails whatever the total
    assert review.total == 99
    assert review.critical_failed is True
    assert review.passed is False


def test_a_rounded_percentage_does_not_tip_a_review_over_the_mark(world):
    # given a sheet whose maximum is 3 points and a pass mark of 67 %
    sheet = services.quality_sheet_create(
        actor=world.org.admin,
        name="三分表",
        applies_to="ticket",
        pass_percent=67,
        criteria=[{"name": "态度", "max_points": 3}],
    )
    ticket = make_ticket(world, assignee=world.org.agent)
    # when 2 of 3 (66.666… %, shown as 66.67) is given
    review = services.quality_review_submit(
        actor=world.lead, sheet=sheet, ticket=ticket, scores=full_scores(sheet, 态度=2)
    )
    # then it is below the mark
    assert review.percent == Decimal("66.67")
    assert review.passed is False


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (21, "Enter a number from 0 to 20."),
        (-1, "Enter a number from 0 to 20."),
        ("七", "Enter a whole number."),
        (None, "Score this criterion."),
        ("", "Score this criterion."),
        (True, "Enter a whole number."),
    ],
)
def test_a_bad_score_is_a_field_error_and_nothing_is_saved(world, value, message, settings):
    settings.LANGUAGE_CODE = "en"
    ticket = make_ticket(world, assignee=world.org.agent)
    scores = full_scores(world.ticket_sheet)
    timely = _criterion(world, "响应及时")
    scores[timely.pk] = value
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_review_submit(
            actor=world.lead, sheet=world.ticket_sheet, ticket=ticket, scores=scores
        )
    assert caught.value.message_dict == {f"score_{timely.pk}": [message]}
    assert db_state() == before


def test_every_missing_criterion_is_named_and_nothing_is_saved(world, settings):
    settings.LANGUAGE_CODE = "en"
    ticket = make_ticket(world, assignee=world.org.agent)
    scores = full_scores(world.ticket_sheet)
    missing = [_criterion(world, "问题理解").pk, _criterion(world, "服务红线").pk]
    for pk in missing:
        del scores[pk]
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_review_submit(
            actor=world.lead, sheet=world.ticket_sheet, ticket=ticket, scores=scores
        )
    assert caught.value.message_dict == {f"score_{pk}": ["Score this criterion."] for pk in missing}
    assert db_state() == before


def test_points_for_a_criterion_of_another_sheet_are_refused(world, settings):
    settings.LANGUAGE_CODE = "en"
    ticket = make_ticket(world, assignee=world.org.agent)
    scores = full_scores(world.ticket_sheet)
    scores[_criterion(world, "记录完整", sheet="interaction").pk] = 5
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_review_submit(
            actor=world.lead, sheet=world.ticket_sheet, ticket=ticket, scores=scores
        )
    assert caught.value.message_dict == {"scores": ["Score only the criteria of this score sheet."]}
    assert db_state() == before


def test_a_comment_too_long_is_a_field_error(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    timely = _criterion(world, "响应及时")
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_review_submit(
            actor=world.lead,
            sheet=world.ticket_sheet,
            ticket=ticket,
            scores=full_scores(world.ticket_sheet),
            comments={timely.pk: "长" * 1001},
        )
    assert list(caught.value.message_dict) == [f"comment_{timely.pk}"]
    assert db_state() == before


def test_a_sheet_for_interactions_does_not_score_a_ticket(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_review_submit(
            actor=world.org.admin,
            sheet=world.interaction_sheet,
            ticket=ticket,
            scores=full_scores(world.interaction_sheet),
        )
    assert list(caught.value.message_dict) == ["sheet"]
    assert db_state() == before


def test_a_sheet_not_in_use_scores_nothing(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    services.quality_sheet_update(
        actor=world.org.admin, sheet=world.ticket_sheet, data={"active": False}
    )
    world.ticket_sheet.refresh_from_db()
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        review_ticket(world, ticket)
    assert list(caught.value.message_dict) == ["sheet"]
    assert db_state() == before


# --- who reviews --------------------------------------------------------------------------------


def test_nobody_reviews_their_own_work(world):
    # given a ticket the team lead handled themselves, and an interaction the manager logged
    own_ticket = make_ticket(world, assignee=world.lead)
    own_interaction = make_interaction(world, author=world.org.manager)
    before = db_state()
    with pytest.raises(PermissionDeniedError) as caught:
        review_ticket(world, own_ticket)
    assert caught.value.code == "own_work"
    with pytest.raises(PermissionDeniedError):
        review_interaction(world, own_interaction)
    with pytest.raises(PermissionDeniedError):
        review_ticket(world, make_ticket(world, assignee=world.org.admin), actor=world.org.admin)
    assert db_state() == before


def test_a_team_lead_reviews_only_their_teams_tickets(world, org):
    # given a closed ticket of another team
    other_team = world.team.__class__.objects.create(department=org.north, lead=org.manager)
    foreign = make_ticket(world, assignee=org.other_rep, team=other_team)
    before = db_state()
    with pytest.raises((PermissionDeniedError,)):
        review_ticket(world, foreign)
    assert db_state() == before


@pytest.mark.parametrize("role", ["sales_rep", "service_agent", "department_handler", "analyst"])
def test_other_roles_review_nothing(world, role):
    ticket = make_ticket(world, assignee=world.lead)
    interaction = make_interaction(world, author=world.org.manager)
    actor = world.org.by_role()[role]
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        review_ticket(world, ticket, actor=actor)
    with pytest.raises(PermissionDeniedError):
        review_interaction(world, interaction, actor=actor)
    assert db_state() == before


def test_a_sales_manager_reviews_the_interactions_of_their_scope_only(world, org):
    # given an interaction of the rep (华东组, under the manager's 销售部) and one of the outsider
    mine = make_interaction(world)
    elsewhere_customer = make_customer_for(org.outsider)
    theirs = make_interaction(world, author=org.outsider, customer=elsewhere_customer)
    review = review_interaction(world, mine)
    assert review.agent == org.rep and review.department == org.east
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        review_interaction(world, theirs)
    assert db_state() == before


def make_customer_for(owner):
    from tests.customers.conftest import make_customer

    return make_customer(owner, "海外客户有限公司")


def test_a_ticket_still_being_worked_is_not_reviewed(world):
    ticket = make_ticket(world, assignee=world.org.agent, status="in_progress")
    before = db_state()
    with pytest.raises(ItemNotFinishedError):
        review_ticket(world, ticket)
    assert db_state() == before


# --- one review per sheet and item --------------------------------------------------------------


def test_a_second_review_of_the_same_item_is_a_conflict_and_writes_nothing(world):
    # given a reviewed ticket
    ticket = make_ticket(world, assignee=world.org.agent)
    first = review_ticket(world, ticket)
    before = db_state()
    # when an administrator submits another review of it with the same sheet
    with pytest.raises(AlreadyReviewedError) as caught:
        review_ticket(world, ticket, actor=world.org.admin, 解决方案=0)
    # then it is a 409 and nothing changed
    assert caught.value.status_code == 409
    assert caught.value.code == "already_reviewed"
    assert db_state() == before
    assert Review.objects.get() == first


def test_another_sheet_may_review_the_same_item(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    review_ticket(world, ticket)
    other = services.quality_sheet_create(
        actor=world.org.admin,
        name="投诉工单专项",
        applies_to="ticket",
        criteria=[{"name": "安抚情绪", "max_points": 10}],
    )
    services.quality_review_submit(
        actor=world.lead, sheet=other, ticket=ticket, scores=full_scores(other)
    )
    assert Review.objects.filter(ticket=ticket).count() == 2


def test_reviewing_a_drawn_item_finishes_its_assignment(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    drawn = services.quality_sample_draw(
        actor=world.lead,
        sheet=world.ticket_sheet,
        period_start=ticket.resolved_at.date(),
        period_end=ticket.resolved_at.date(),
        per_agent=1,
        seed=1,
    )
    assignment = drawn.assignments[0]
    # an administrator reviews it: the lead's assignment is done all the same
    review = review_ticket(world, ticket, actor=world.org.admin)
    assignment.refresh_from_db()
    assert assignment.status == ReviewAssignment.Status.DONE
    assert review.assignment == assignment


# --- a sheet changed after use ------------------------------------------------------------------


def test_editing_a_used_sheet_leaves_past_reviews_as_they_were(world):
    # given a review of 95 / 100
    ticket = make_ticket(world, assignee=world.org.agent)
    review = review_ticket(world, ticket, 解决方案=20)
    scores_before = list(review.scores.order_by("position").values("name", "max_points", "points"))
    # when the administrator renames and re-weighs a criterion, removes one, adds one, and
    # raises the pass mark
    solution = _criterion(world, "解决方案")
    services.quality_criterion_update(
        actor=world.org.admin,
        criterion=solution,
        data={"name": "解决质量", "max_points": 50, "critical": True},
    )
    services.quality_criterion_delete(
        actor=world.org.admin, criterion=_criterion(world, "规范用语")
    )
    services.quality_criterion_create(
        actor=world.org.admin, sheet=world.ticket_sheet, name="回访确认", max_points=10
    )
    services.quality_sheet_update(
        actor=world.org.admin, sheet=world.ticket_sheet, data={"pass_percent": 99}
    )
    # then the past review reads exactly as before
    review.refresh_from_db()
    assert (review.total, review.max_total, review.percent) == (95, 100, Decimal("95.00"))
    assert review.pass_percent == 80 and review.passed is True
    assert (
        list(review.scores.order_by("position").values("name", "max_points", "points"))
        == scores_before
    )
    # and the next review follows the sheet as it is now
    later = review_ticket(world, make_ticket(world, assignee=world.org.agent), 解决质量=40)
    later_names = list(later.scores.order_by("position").values_list("name", flat=True))
    assert later_names == ["响应及时", "问题理解", "解决质量", "沟通态度", "服务红线", "回访确认"]
    assert (later.total, later.max_total) == (115, 125)
    assert later.critical_failed is True and later.passed is False
    assert later.pass_percent == 99


# --- acknowledge, dispute, resolve --------------------------------------------------------------


def test_the_agent_acknowledges_their_review_once(world):
    review = review_ticket(world, make_ticket(world, assignee=world.org.agent))
    done = services.quality_review_acknowledge(actor=world.org.agent, review=review)
    assert done.status == Review.Status.ACKNOWLEDGED and done.acknowledged_at is not None
    from guanxi.service.quality.errors import ReviewStateError

    with pytest.raises(ReviewStateError):
        services.quality_review_acknowledge(actor=world.org.agent, review=done)
    with pytest.raises(ReviewStateError):
        services.quality_review_dispute(actor=world.org.agent, review=done, reason="不同意")


def test_only_the_agent_answers_a_review(world):
    review = review_ticket(world, make_ticket(world, assignee=world.org.agent))
    before = db_state()
    for actor in (world.lead, world.org.admin, world.org.handler):
        with pytest.raises(PermissionDeniedError):
            services.quality_review_acknowledge(actor=actor, review=review)
        with pytest.raises(PermissionDeniedError):
            services.quality_review_dispute(actor=actor, review=review, reason="代为申诉")
    assert db_state() == before


def test_a_dispute_needs_a_reason(world):
    review = review_ticket(world, make_ticket(world, assignee=world.org.agent))
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        services.quality_review_dispute(actor=world.org.agent, review=review, reason="  ")
    assert list(caught.value.message_dict) == ["reason"]
    assert db_state() == before


def test_a_dispute_goes_to_the_reviewers_manager_who_corrects_the_scores(world, org):
    # given the lead reports to the manager, and a failed review of the agent's ticket
    world.lead.manager = org.manager
    world.lead.save(update_fields=["manager"])
    review = review_ticket(world, make_ticket(world, assignee=org.agent), 服务红线=0)
    assert review.passed is False
    # when the agent disputes it
    disputed = services.quality_review_dispute(
        actor=org.agent, review=review, reason="客户信息并未外泄，录音可证。"
    )
    assert disputed.status == Review.Status.DISPUTED
    # then the manager (not the administrators) and the reviewer hear of it
    told = set(
        Notification.objects.filter(kind="quality_disputed").values_list("recipient", flat=True)
    )
    assert told == {org.manager.pk, world.lead.pk}
    # neither the reviewer nor the agent may settle it
    for actor in (world.lead, org.agent):
        with pytest.raises(PermissionDeniedError):
            services.quality_review_resolve(actor=actor, review=disputed, note="维持")
    # when the manager settles it with the critical line restored
    resolved = services.quality_review_resolve(
        actor=org.manager,
        review=disputed,
        note="核实录音，未泄露信息，更正得分。",
        scores={score.criterion_id: score.max_points for score in disputed.scores.all()},
    )
    # then the review passes, with the correction in the audit trail
    resolved.refresh_from_db()
    assert resolved.status == Review.Status.RESOLVED and resolved.resolved_by == org.manager
    assert (resolved.total, resolved.passed, resolved.critical_failed) == (100, True, False)
    assert resolved.scores.get(name="服务红线").points == 5
    from guanxi.core.models import AuditEntry

    entry = AuditEntry.objects.get(note="quality_review_rescored")
    assert entry.changes == {"score:服务红线": {"before": 0, "after": 5}}
    assert Notification.objects.filter(kind="quality_resolved", recipient=org.agent).exists()


def test_rescoring_a_dispute_uses_the_reviews_own_criteria(world, org):
    # given a disputed review and then the sheet's 服务红线 raised to 50 points
    review = review_ticket(world, make_ticket(world, assignee=org.agent), 服务红线=0)
    services.quality_review_dispute(actor=org.agent, review=review, reason="不认可")
    services.quality_criterion_update(
        actor=org.admin, criterion=_criterion(world, "服务红线"), data={"max_points": 50}
    )
    review.refresh_from_db()
    red_line = review.scores.get(name="服务红线")
    before = db_state()
    # when the administrator gives it 50
    scores = {score.criterion_id: score.points for score in review.scores.all()}
    scores[red_line.criterion_id] = 50
    with pytest.raises(ValidationError) as caught:
        services.quality_review_resolve(actor=org.admin, review=review, note="改", scores=scores)
    # then the review's own maximum (5) applies
    assert list(caught.value.message_dict) == [f"score_{red_line.criterion_id}"]
    assert db_state() == before


def test_without_a_manager_the_administrators_settle_disputes(world, org):
    review = review_interaction(world, make_interaction(world), 需求把握=10)
    services.quality_review_dispute(actor=org.rep, review=review, reason="客户需求已记录在附件")
    told = set(
        Notification.objects.filter(kind="quality_disputed").values_list("recipient", flat=True)
    )
    assert told == {org.admin.pk, org.manager.pk}  # the administrator, and the reviewer
    review.refresh_from_db()
    resolved = services.quality_review_resolve(actor=org.admin, review=review, note="维持原评分")
    assert resolved.status == Review.Status.RESOLVED
    assert resolved.total == review.total
