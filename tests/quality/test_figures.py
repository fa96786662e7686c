"""Figures from known reviews: average score and pass rate per agent, team and criterion over a
period, in each reader's scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from guanxi.service.quality.selectors import quality_figures
from tests.quality.conftest import (
    PERIOD_END,
    PERIOD_START,
    at,
    make_interaction,
    make_ticket,
    review_interaction,
    review_ticket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(world):
    org = world.org
    # the agent: 100 (passed), 74 (failed), 99 with the critical line lost (failed)
    review_ticket(world, make_ticket(world, assignee=org.agent))
    review_ticket(world, make_ticket(world, assignee=org.agent), 解决方案=5, 沟通态度=14)
    review_ticket(world, make_ticket(world, assignee=org.agent), 服务红线=4)
    # the handler: 90 (passed)
    review_ticket(world, make_ticket(world, assignee=org.handler), 解决方案=15)
    # the rep's interactions: 100 (passed), 60 (failed)
    review_interaction(world, make_interaction(world))
    review_interaction(world, make_interaction(world), 需求把握=5, 下一步明确=5)
    # outside the period: a November ticket of the agent, scored 0 on the solution
    late = make_ticket(world, assignee=org.agent, finished=at(dt.date(2026, 11, 1), 0, 30))
    review_ticket(world, late, 解决方案=0)
    return world


def _figures(user, **filters):
    return quality_figures(actor=user, period_start=PERIOD_START, period_end=PERIOD_END, **filters)


def _people(figures):
    return {
        row.user.username: (row.reviews, row.passed, row.average, row.pass_rate)
        for row in figures.people
    }


def test_an_administrator_sees_every_agent_team_and_criterion(reviewed):
    org = reviewed.org
    figures = _figures(org.admin)
    assert (figures.total.reviews, figures.total.passed) == (6, 3)
    assert figures.total.average == pytest.approx((100 + 74 + 99 + 90 + 100 + 60) / 6, abs=0.05)
    assert figures.total.pass_rate == 50.0
    assert _people(figures) == {
        "agent": (3, 1, 91.0, 33.3),
        "handler": (1, 1, 90.0, 100.0),
        "rep1": (2, 1, 80.0, 50.0),
    }
    teams = {
        (row.key[0], row.label): (row.reviews, row.passed, row.average) for row in figures.teams
    }
    assert teams == {
        ("team", "客服中心"): (4, 2, 90.8),
        ("department", "华东组"): (2, 1, 80.0),
    }
    criteria = {row.label: row for row in figures.criteria if row.sheet_name == "工单服务质检表"}
    red_line = criteria["服务红线"]
    assert (red_line.scored, red_line.full, red_line.critical, red_line.critical_failed) == (
        4,
        3,
        True,
        1,
    )
    assert red_line.average == 95.0
    solution = criteria["解决方案"]
    assert solution.average == pytest.approx((100 + 20 + 100 + 60) / 4, abs=0.05)
    assert solution.critical is False


def test_a_team_lead_sees_their_teams_agents(reviewed):
    figures = _figures(reviewed.lead)
    assert set(_people(figures)) == {"agent", "handler"}
    assert figures.total.reviews == 4


def test_a_sales_manager_sees_the_interaction_reviews_of_their_scope(reviewed):
    figures = _figures(reviewed.org.manager)
    assert _people(figures) == {"rep1": (2, 1, 80.0, 50.0)}
    assert {row.sheet_name for row in figures.criteria} == {"客户跟进质检表"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("service_agent", {"agent": (3, 1, 91.0, 33.3)}),
        ("department_handler", {"handler": (1, 1, 90.0, 100.0)}),
        ("sales_rep", {"rep1": (2, 1, 80.0, 50.0)}),
        ("analyst", {}),
        ("key_account_manager", {}),
    ],
)
def test_everyone_else_sees_their_own(reviewed, role, expected):
    assert _people(_figures(reviewed.org.by_role()[role])) == expected


def test_the_outsider_sees_nothing(reviewed):
    figures = _figures(reviewed.org.outsider)
    assert figures.total.reviews == 0 and figures.total.average is None
    assert figures.total.pass_rate is None
    assert figures.people == [] and figures.teams == [] and figures.criteria == []


def test_filters_by_kind_and_the_period_edge(reviewed):
    org = reviewed.org
    assert _figures(org.admin, kind="interaction").total.reviews == 2
    november = quality_figures(
        actor=org.admin, period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30)
    )
    # finished at 00:30 on 1 November in Shanghai: November's, though still October in UTC
    assert _people(november) == {"agent": (1, 0, 75.0, 0.0)}


def test_a_bad_period_is_a_field_error(reviewed):
    with pytest.raises(ValidationError) as caught:
        quality_figures(actor=reviewed.org.admin, period_start=PERIOD_END, period_end=PERIOD_START)
    assert list(caught.value.message_dict) == ["date_from"]
