"""Permission matrix of every quality review page: anonymous, each of the seven roles, the
service team's lead and an outsider.

The records: the service team 客服中心 (its lead, the agent and the handler) and a customer of the
rep (华东组 under the manager's 销售部). A closed ticket of the agent reviewed by the lead, one of
the agent reviewed and disputed, one of the handler not reviewed and drawn into the lead's queue;
an interaction of the rep reviewed by the manager and one not reviewed. Sheets are read by
everyone and kept by administrators; reviewers (administrators, team leads for tickets, sales
managers for interactions) draw and review; the agent answers a review; an administrator or the
reviewer's manager settles a dispute. A denied request changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from guanxi.service.quality import services
from guanxi.service.quality.models import ScoreCriterion
from tests.conftest import login_client
from tests.quality.conftest import (
    PERIOD_END,
    PERIOD_START,
    World,
    db_state,
    full_scores,
    make_interaction,
    make_ticket,
    review_interaction,
    review_ticket,
)

pytestmark = pytest.mark.django_db

ACTORS = [
    "anonymous",
    "administrator",
    "sales_manager",
    "sales_rep",
    "key_account_manager",
    "service_agent",
    "department_handler",
    "analyst",
    "outsider",
    "team_lead",
]
SIGNED_IN = ACTORS[1:]


@dataclass
class Records:
    world: World
    ticket_review: Any  # the agent's ticket, by the lead
    interaction_review: Any  # the rep's interaction, by the manager
    disputed: Any  # the agent's ticket, by the lead, disputed by the agent
    open_ticket: Any  # the handler's, not reviewed, drawn for the lead
    open_interaction: Any  # the rep's, not reviewed
    assignment: Any
    criterion: Any


def build(world: World) -> Records:
    org = world.org
    ticket_review = review_ticket(world, make_ticket(world, assignee=org.agent))
    interaction_review = review_interaction(world, make_interaction(world))
    disputed = review_ticket(world, make_ticket(world, assignee=org.agent), 解决方案=10)
    services.quality_review_dispute(actor=org.agent, review=disputed, reason="方案有效，客户已确认")
    open_ticket = make_ticket(world, assignee=org.handler)
    drawn = services.quality_sample_draw(
        actor=world.lead,
        sheet=world.ticket_sheet,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        per_agent=1,
        seed=3,
    )
    disputed.refresh_from_db()
    return Records(
        world=world,
        ticket_review=ticket_review,
        interaction_review=interaction_review,
        disputed=disputed,
        open_ticket=open_ticket,
        open_interaction=make_interaction(world, content="上门拜访，了解扩容需求。"),
        assignment=drawn.assignments[0],
        criterion=ScoreCriterion.objects.filter(sheet=world.ticket_sheet).first(),
    )


def _client(world: World, key: str) -> Client:
    user = world.user(key)
    return Client() if user is None else login_client(user)


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


EVERYONE = dict.fromkeys(SIGNED_IN, 200)


def _only(ok: int, who: tuple[str, ...], others: int = 403) -> dict[str, int]:
    return {**dict.fromkeys(SIGNED_IN, others), **dict.fromkeys(who, ok)}


REVIEWERS = ("administrator", "team_lead", "sales_manager")


def _sheet_edit(r: Records) -> dict[str, Any]:
    sheet = r.world.ticket_sheet
    return {
        "version": sheet.version,
        "name": "工单质检（新版）",
        "pass_percent": 85,
        "active": "on",
    }


def _criterion_edit(r: Records) -> dict[str, Any]:
    c = r.criterion
    return {"version": c.version, "name": c.name, "max_points": 30, "position": c.position}


def _scores(sheet: Any) -> dict[str, Any]:
    return {f"score_{pk}": points for pk, points in full_scores(sheet).items()}


def _draw(sheet_attr: str) -> Callable[[Records], dict[str, Any]]:
    def data(r: Records) -> dict[str, Any]:
        sheet = getattr(r.world, sheet_attr)
        return {
            "sheet": sheet.pk,
            "period_start": PERIOD_START.isoformat(),
            "period_end": PERIOD_END.isoformat(),
            "per_agent": 2,
        }

    return data


# What a review may be opened by (404 for the rest): see selectors.quality_review_visible_q.
TICKET_REVIEW_READERS = ("administrator", "team_lead", "service_agent")
INTERACTION_REVIEW_READERS = ("administrator", "sales_manager", "sales_rep")


def _readers(ok: int, readers: tuple[str, ...], *, allowed: tuple[str, ...]) -> dict[str, int]:
    """``allowed`` get ``ok``; the other readers 403; everyone else 404."""
    return {
        **dict.fromkeys(SIGNED_IN, 404),
        **dict.fromkeys(readers, 403),
        **dict.fromkeys(allowed, ok),
    }


CASES = [
    Case("index", "GET", lambda r: "/service/quality/", None, dict.fromkeys(SIGNED_IN, 302), False),
    Case("sheets", "GET", lambda r: "/service/quality/sheets/", None, EVERYONE, False),
    Case(
        "sheet-create-get",
        "GET",
        lambda r: "/service/quality/sheets/new/",
        None,
        _only(200, ("administrator",)),
        False,
    ),
    Case(
        "sheet-create",
        "POST",
        lambda r: "/service/quality/sheets/new/",
        lambda r: {"name": "投诉专项", "applies_to": "ticket", "pass_percent": 85, "active": "on"},
        _only(302, ("administrator",)),
        True,
    ),
    Case(
        "sheet-edit-get",
        "GET",
        lambda r: f"/service/quality/sheets/{r.world.ticket_sheet.pk}/edit/",
        None,
        _only(200, ("administrator",)),
        False,
    ),
    Case(
        "sheet-edit",
        "POST",
        lambda r: f"/service/quality/sheets/{r.world.ticket_sheet.pk}/edit/",
        _sheet_edit,
        _only(302, ("administrator",)),
        True,
    ),
    Case(
        "criterion-create",
        "POST",
        lambda r: f"/service/quality/sheets/{r.world.ticket_sheet.pk}/criteria/new/",
        lambda r: {"name": "回访确认", "max_points": 10},
        _only(302, ("administrator",)),
        True,
    ),
    Case(
        "criterion-edit",
        "POST",
        lambda r: f"/service/quality/criteria/{r.criterion.pk}/edit/",
        _criterion_edit,
        _only(302, ("administrator",)),
        True,
    ),
    Case(
        "criterion-delete",
        "POST",
        lambda r: f"/service/quality/criteria/{r.criterion.pk}/delete/",
        lambda r: {},
        _only(302, ("administrator",)),
        True,
    ),
    Case("queue", "GET", lambda r: "/service/quality/queue/", None, _only(200, REVIEWERS), False),
    Case("draw-get", "GET", lambda r: "/service/quality/draw/", None, _only(200, REVIEWERS), False),
    Case(
        "draw-tickets",
        "POST",
        lambda r: "/service/quality/draw/",
        _draw("ticket_sheet"),
        # a sales manager is offered no ticket sheet: the choice is refused
        {**_only(302, ("administrator", "team_lead")), "sales_manager": 400},
        True,
    ),
    Case(
        "draw-interactions",
        "POST",
        lambda r: "/service/quality/draw/",
        _draw("interaction_sheet"),
        {**_only(302, ("administrator", "sales_manager")), "team_lead": 400},
        True,
    ),
    Case(
        "assignment-release",
        "POST",
        lambda r: f"/service/quality/assignments/{r.assignment.pk}/release/",
        lambda r: {},
        _only(302, ("administrator", "team_lead"), others=404),
        True,
    ),
    Case(
        "review-create-ticket-get",
        "GET",
        lambda r: (
            f"/service/quality/reviews/new/?sheet={r.world.ticket_sheet.pk}"
            f"&ticket={r.open_ticket.pk}"
        ),
        None,
        # who sees the ticket: service agents (all customers), its handler, the team lead, the
        # rep and manager through the customer, analysts; the handler's own work is 403
        {
            **_only(200, ("administrator", "team_lead")),
            "key_account_manager": 404,
            "outsider": 404,
        },
        False,
    ),
    Case(
        "review-create-ticket",
        "POST",
        lambda r: (
            f"/service/quality/reviews/new/?sheet={r.world.ticket_sheet.pk}"
            f"&ticket={r.open_ticket.pk}"
        ),
        lambda r: _scores(r.world.ticket_sheet),
        {
            **_only(302, ("administrator", "team_lead")),
            "key_account_manager": 404,
            "outsider": 404,
        },
        True,
    ),
    Case(
        "review-create-assignment",
        "GET",
        lambda r: f"/service/quality/reviews/new/?assignment={r.assignment.pk}",
        None,
        _only(200, ("administrator", "team_lead"), others=404),
        False,
    ),
    Case(
        "review-create-interaction",
        "POST",
        lambda r: (
            f"/service/quality/reviews/new/?sheet={r.world.interaction_sheet.pk}"
            f"&interaction={r.open_interaction.pk}"
        ),
        lambda r: _scores(r.world.interaction_sheet),
        # who sees the rep's customer: the rep (own work: 403), the manager, administrators
        # and analysts
        {
            **_only(302, ("administrator", "sales_manager")),
            "key_account_manager": 404,
            "department_handler": 404,
            "outsider": 404,
            # the desk and a team lead see tickets, not the rep's customers and their log
            "service_agent": 404,
            "team_lead": 404,
        },
        True,
    ),
    Case("reviews", "GET", lambda r: "/service/quality/reviews/", None, EVERYONE, False),
    Case(
        "reviews-given",
        "GET",
        lambda r: "/service/quality/reviews/?view=given",
        None,
        EVERYONE,
        False,
    ),
    Case("my-reviews", "GET", lambda r: "/service/quality/mine/", None, EVERYONE, False),
    Case(
        "ticket-review-detail",
        "GET",
        lambda r: f"/service/quality/reviews/{r.ticket_review.pk}/",
        None,
        _only(200, TICKET_REVIEW_READERS, others=404),
        False,
    ),
    Case(
        "interaction-review-detail",
        "GET",
        lambda r: f"/service/quality/reviews/{r.interaction_review.pk}/",
        None,
        _only(200, INTERACTION_REVIEW_READERS, others=404),
        False,
    ),
    Case(
        "acknowledge",
        "POST",
        lambda r: f"/service/quality/reviews/{r.ticket_review.pk}/acknowledge/",
        lambda r: {"version": r.ticket_review.version},
        _readers(302, TICKET_REVIEW_READERS, allowed=("service_agent",)),
        True,
    ),
    Case(
        "dispute",
        "POST",
        lambda r: f"/service/quality/reviews/{r.ticket_review.pk}/dispute/",
        lambda r: {"version": r.ticket_review.version, "reason": "响应在时限内"},
        _readers(302, TICKET_REVIEW_READERS, allowed=("service_agent",)),
        True,
    ),
    Case(
        "dispute-interaction",
        "POST",
        lambda r: f"/service/quality/reviews/{r.interaction_review.pk}/dispute/",
        lambda r: {"version": r.interaction_review.version, "reason": "记录完整"},
        _readers(302, INTERACTION_REVIEW_READERS, allowed=("sales_rep",)),
        True,
    ),
    Case(
        "resolve-get",
        "GET",
        lambda r: f"/service/quality/reviews/{r.disputed.pk}/resolve/",
        None,
        _readers(200, TICKET_REVIEW_READERS, allowed=("administrator",)),
        False,
    ),
    Case(
        "resolve",
        "POST",
        lambda r: f"/service/quality/reviews/{r.disputed.pk}/resolve/",
        lambda r: {"version": r.disputed.version, "note": "核实后维持"},
        _readers(302, TICKET_REVIEW_READERS, allowed=("administrator",)),
        True,
    ),
    Case("figures", "GET", lambda r: "/service/quality/figures/", None, EVERYONE, False),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_quality_page_permissions(world, case: Case, actor: str) -> None:
    # given
    records = build(world)
    client = _client(world, actor)
    path = case.path(records)
    data = case.data(records) if case.data else None
    before = db_state()
    # when
    response = client.get(path) if case.method == "GET" else client.post(path, data or {})
    # then
    if actor == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert db_state() == before
        return
    expected = case.expected[actor]
    assert response.status_code == expected, (case.name, actor)
    if expected >= 400 or not case.writes:
        assert db_state() == before
    else:
        assert db_state() != before
