"""Drawing the sample: N random finished items per agent in the period from what the reviewer
may review, reproducible with a seed, never an item already reviewed or drawn with the sheet,
idempotent per sheet and item."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.exceptions import PermissionDeniedError
from guanxi.core.models import AuditEntry
from guanxi.service.quality import services
from guanxi.service.quality.models import ReviewAssignment
from guanxi.service.selectors import ticket_visible_queryset
from tests.factories import UserFactory
from tests.quality.conftest import (
    PERIOD_END,
    PERIOD_START,
    at,
    db_state,
    make_interaction,
    make_ticket,
    review_ticket,
)

pytestmark = pytest.mark.django_db


def _tickets(world, agent, count, *, day=dt.date(2026, 10, 10)):
    return [
        make_ticket(world, assignee=agent, finished=at(day + dt.timedelta(days=i % 20)))
        for i in range(count)
    ]


def _draw(
    world, *, actor=None, sheet=None, per_agent=2, seed=7, start=PERIOD_START, end=PERIOD_END
):
    return services.quality_sample_draw(
        actor=actor or world.lead,
        sheet=sheet or world.ticket_sheet,
        period_start=start,
        period_end=end,
        per_agent=per_agent,
        seed=seed,
    )


def _drawn_ids(result):
    return sorted(assignment.ticket_id for assignment in result.assignments)


def test_the_draw_takes_n_items_per_agent_for_the_reviewer(world, org):
    # given 5 closed tickets of the agent and 3 of the handler in October, and one in November
    agent_tickets = _tickets(world, org.agent, 5)
    handler_tickets = _tickets(world, org.handler, 3)
    make_ticket(world, assignee=org.agent, finished=at(dt.date(2026, 11, 2)))
    # when the team lead draws 2 per agent
    result = _draw(world)
    # then 2 of each agent's October tickets are in the lead's queue
    assert result.candidates == 8 and result.agents == 2
    by_agent: dict[int, list[int]] = {}
    for assignment in result.assignments:
        by_agent.setdefault(assignment.agent_id, []).append(assignment.ticket_id)
        assert assignment.reviewer == world.lead
        assert assignment.status == ReviewAssignment.Status.OPEN
    assert {agent: len(ids) for agent, ids in by_agent.items()} == {
        org.agent.pk: 2,
        org.handler.pk: 2,
    }
    assert set(by_agent[org.agent.pk]) <= {t.pk for t in agent_tickets}
    assert set(by_agent[org.handler.pk]) <= {t.pk for t in handler_tickets}
    entry = AuditEntry.objects.get(note__startswith="quality_sample_drawn")
    assert entry.note == "quality_sample_drawn?count=4&start=2026-10-01&end=2026-10-31"


def test_an_agent_with_fewer_items_than_asked_gives_them_all(world, org):
    only = _tickets(world, org.agent, 1)
    result = _draw(world, per_agent=5)
    assert _drawn_ids(result) == [only[0].pk]


def test_the_same_seed_draws_the_same_items(world, org):
    # given 12 tickets of the agent
    _tickets(world, org.agent, 12)
    # when drawing 4 with one seed, then releasing them, and drawing again with the same seed
    first = _draw(world, per_agent=4, seed=2026)
    for assignment in first.assignments:
        services.quality_assignment_release(actor=world.lead, assignment=assignment)
    again = _draw(world, per_agent=4, seed=2026)
    # then the same four come out; another seed picks another set
    assert _drawn_ids(again) == _drawn_ids(first)
    for assignment in again.assignments:
        services.quality_assignment_release(actor=world.lead, assignment=assignment)
    other = _draw(world, per_agent=4, seed=1)
    assert _drawn_ids(other) != _drawn_ids(first)
    assert len(_drawn_ids(other)) == 4


def test_drawing_again_makes_nothing_twice_and_skips_what_is_drawn(world, org):
    tickets = _tickets(world, org.agent, 3)
    first = _draw(world, per_agent=2)
    assert len(first.assignments) == 2
    # the second draw only has the third ticket left
    second = _draw(world, per_agent=2)
    assert result_ids(second) == sorted(
        {t.pk for t in tickets} - {a.ticket_id for a in first.assignments}
    )
    # and a third finds nothing
    third = _draw(world, per_agent=2)
    assert third.assignments == [] and third.candidates == 0
    assert ReviewAssignment.objects.count() == 3


def result_ids(result):
    return _drawn_ids(result)


def test_reviewed_items_are_not_drawn(world, org):
    reviewed, open_one = _tickets(world, org.agent, 2)
    review_ticket(world, reviewed)
    result = _draw(world, per_agent=5)
    assert _drawn_ids(result) == [open_one.pk]


def test_the_draw_skips_own_work_unfinished_tickets_and_other_teams(world, org):
    # given the lead's own ticket, an open ticket, a ticket without a team, and one good ticket
    make_ticket(world, assignee=world.lead)
    make_ticket(world, assignee=org.agent, status="in_progress")
    make_ticket(world, assignee=org.agent, team=None)
    good = make_ticket(world, assignee=org.agent, status="resolved")
    result = _draw(world, per_agent=5)
    assert _drawn_ids(result) == [good.pk]
    # an administrator sees the team-less one too (and the lead's)
    admin = _draw(world, actor=org.admin, per_agent=5)
    assert len(admin.assignments) == 2


def test_a_sales_manager_draws_the_interactions_of_their_scope(world, org):
    # given interactions of the rep (in scope), of the manager (own) and of the outsider
    from tests.customers.conftest import make_customer

    rep_items = [make_interaction(world, when=at(dt.date(2026, 10, day))) for day in (3, 9, 20)]
    make_interaction(world, author=org.manager)
    abroad = make_customer(org.outsider, "海外客户")
    make_interaction(world, author=org.outsider, customer=abroad)
    result = _draw(world, actor=org.manager, sheet=world.interaction_sheet, per_agent=5)
    assert sorted(a.interaction_id for a in result.assignments) == sorted(i.pk for i in rep_items)
    assert {a.agent_id for a in result.assignments} == {org.rep.pk}


def test_only_reviewers_of_the_kind_draw(world, org):
    _tickets(world, org.agent, 2)
    make_interaction(world)
    before = db_state()
    # a sales manager does not draw tickets, a team lead does not draw interactions
    with pytest.raises(PermissionDeniedError):
        _draw(world, actor=org.manager)
    with pytest.raises(PermissionDeniedError):
        _draw(world, actor=world.lead, sheet=world.interaction_sheet)
    for role in ("sales_rep", "service_agent", "department_handler", "analyst"):
        with pytest.raises(PermissionDeniedError):
            _draw(world, actor=org.by_role()[role])
    assert db_state() == before


@pytest.mark.parametrize(
    ("per_agent", "start", "end", "field"),
    [
        (0, PERIOD_START, PERIOD_END, "per_agent"),
        (51, PERIOD_START, PERIOD_END, "per_agent"),
        (2, PERIOD_END, PERIOD_START, "period_start"),
        (2, dt.date(2025, 1, 1), dt.date(2026, 1, 5), "period_start"),
        (2, dt.date(1, 1, 1), PERIOD_END, "period_start"),
    ],
)
def test_bad_draw_input_is_a_field_error(world, org, per_agent, start, end, field):
    _tickets(world, org.agent, 2)
    before = db_state()
    with pytest.raises(ValidationError) as caught:
        _draw(world, per_agent=per_agent, start=start, end=end)
    assert field in caught.value.message_dict
    assert db_state() == before


def test_a_team_lead_draws_their_teams_tickets_only(world, org):
    # given a ticket of another team (华北组's, led by someone else), which the lead can see
    other_team = world.team.__class__.objects.create(department=org.north, lead=org.manager)
    extra = UserFactory(username="north-agent", department=org.north, role="service_agent")
    foreign = make_ticket(world, assignee=extra, team=other_team)
    assert ticket_visible_queryset(actor=world.lead).filter(pk=foreign.pk).exists()
    mine = _tickets(world, org.agent, 1)
    # when the lead draws, then only their own team's ticket comes out
    result = _draw(world, per_agent=1)
    assert _drawn_ids(result) == [mine[0].pk]
    # an administrator draws the other one too
    result = _draw(world, actor=org.admin, per_agent=1)
    assert _drawn_ids(result) == [foreign.pk]
