"""Permission matrix of every quality review endpoint, with a real API token: anonymous, each
of the seven roles, the service team's lead and an outsider. Same records and rules as the page
matrix (test_views_permissions); a denied request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from guanxi.accounts.models import ApiToken
from tests.conftest import ApiClient
from tests.quality.conftest import PERIOD_END, PERIOD_START, db_state, full_scores
from tests.quality.test_views_permissions import (
    ACTORS,
    INTERACTION_REVIEW_READERS,
    REVIEWERS,
    SIGNED_IN,
    TICKET_REVIEW_READERS,
    Records,
    _only,
    _readers,
    build,
)

pytestmark = pytest.mark.django_db

EVERYONE = dict.fromkeys(SIGNED_IN, 200)


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool


def _draw(sheet_attr: str) -> Callable[[Records], dict[str, Any]]:
    return lambda r: {
        "sheet_id": getattr(r.world, sheet_attr).pk,
        "period_start": PERIOD_START.isoformat(),
        "period_end": PERIOD_END.isoformat(),
        "per_agent": 2,
        "seed": 1,
    }


def _review(sheet_attr: str, item: str) -> Callable[[Records], dict[str, Any]]:
    def data(r: Records) -> dict[str, Any]:
        sheet = getattr(r.world, sheet_attr)
        target = r.open_ticket if item == "ticket" else r.open_interaction
        return {
            "sheet_id": sheet.pk,
            f"{item}_id": target.pk,
            "scores": {str(pk): points for pk, points in full_scores(sheet).items()},
        }

    return data


CASES = [
    Case("sheets", "GET", lambda r: "/api/v1/quality/sheets", None, EVERYONE, False),
    Case(
        "sheet",
        "GET",
        lambda r: f"/api/v1/quality/sheets/{r.world.ticket_sheet.pk}",
        None,
        EVERYONE,
        False,
    ),
    Case(
        "sheet-create",
        "POST",
        lambda r: "/api/v1/quality/sheets",
        lambda r: {
            "name": "投诉专项",
            "applies_to": "ticket",
            "criteria": [{"name": "安抚情绪", "max_points": 10, "critical": True}],
        },
        _only(201, ("administrator",)),
        True,
    ),
    Case(
        "sheet-update",
        "PATCH",
        lambda r: f"/api/v1/quality/sheets/{r.world.ticket_sheet.pk}",
        lambda r: {"version": r.world.ticket_sheet.version, "pass_percent": 85},
        _only(200, ("administrator",)),
        True,
    ),
    Case(
        "criterion-create",
        "POST",
        lambda r: f"/api/v1/quality/sheets/{r.world.ticket_sheet.pk}/criteria",
        lambda r: {"name": "回访确认", "max_points": 10},
        _only(201, ("administrator",)),
        True,
    ),
    Case(
        "criterion-update",
        "PATCH",
        lambda r: f"/api/v1/quality/criteria/{r.criterion.pk}",
        lambda r: {"version": r.criterion.version, "max_points": 30},
        _only(200, ("administrator",)),
        True,
    ),
    Case(
        "criterion-delete",
        "DELETE",
        lambda r: f"/api/v1/quality/criteria/{r.criterion.pk}",
        None,
        _only(204, ("administrator",)),
        True,
    ),
    Case(
        "draw-tickets",
        "POST",
        lambda r: "/api/v1/quality/samples",
        _draw("ticket_sheet"),
        _only(200, ("administrator", "team_lead")),
        True,
    ),
    Case(
        "draw-interactions",
        "POST",
        lambda r: "/api/v1/quality/samples",
        _draw("interaction_sheet"),
        _only(200, ("administrator", "sales_manager")),
        True,
    ),
    Case(
        "assignments",
        "GET",
        lambda r: "/api/v1/quality/assignments",
        None,
        _only(200, REVIEWERS),
        False,
    ),
    Case(
        "assignment-release",
        "POST",
        lambda r: f"/api/v1/quality/assignments/{r.assignment.pk}/release",
        lambda r: {},
        _only(200, ("administrator", "team_lead"), others=404),
        True,
    ),
    Case(
        "review-create-ticket",
        "POST",
        lambda r: "/api/v1/quality/reviews",
        _review("ticket_sheet", "ticket"),
        {
            **_only(201, ("administrator", "team_lead")),
            "key_account_manager": 404,
            "outsider": 404,
        },
        True,
    ),
    Case(
        "review-create-interaction",
        "POST",
        lambda r: "/api/v1/quality/reviews",
        _review("interaction_sheet", "interaction"),
        {
            **_only(201, ("administrator", "sales_manager")),
            "key_account_manager": 404,
            "department_handler": 404,
            "outsider": 404,
            # the desk and a team lead see tickets, not the rep's customers and their log
            "service_agent": 404,
            "team_lead": 404,
        },
        True,
    ),
    Case("reviews", "GET", lambda r: "/api/v1/quality/reviews", None, EVERYONE, False),
    Case(
        "ticket-review",
        "GET",
        lambda r: f"/api/v1/quality/reviews/{r.ticket_review.pk}",
        None,
        _only(200, TICKET_REVIEW_READERS, others=404),
        False,
    ),
    Case(
        "interaction-review",
        "GET",
        lambda r: f"/api/v1/quality/reviews/{r.interaction_review.pk}",
        None,
        _only(200, INTERACTION_REVIEW_READERS, others=404),
        False,
    ),
    Case(
        "acknowledge",
        "POST",
        lambda r: f"/api/v1/quality/reviews/{r.ticket_review.pk}/acknowledge",
        lambda r: {"version": r.ticket_review.version},
        _readers(200, TICKET_REVIEW_READERS, allowed=("service_agent",)),
        True,
    ),
    Case(
        "dispute",
        "POST",
        lambda r: f"/api/v1/quality/reviews/{r.interaction_review.pk}/dispute",
        lambda r: {"reason": "记录完整"},
        _readers(200, INTERACTION_REVIEW_READERS, allowed=("sales_rep",)),
        True,
    ),
    Case(
        "resolve",
        "POST",
        lambda r: f"/api/v1/quality/reviews/{r.disputed.pk}/resolve",
        lambda r: {"note": "核实后维持", "version": r.disputed.version},
        _readers(200, TICKET_REVIEW_READERS, allowed=("administrator",)),
        True,
    ),
    Case("figures", "GET", lambda r: "/api/v1/quality/figures", None, EVERYONE, False),
]


def _state() -> dict[str, Any]:
    state = db_state()
    # Creating the caller's token is the test's doing, not the endpoint's.
    state.pop("core.AuditEntry")
    audit = db_state()["core.AuditEntry"]
    state["audit"] = [row for row in audit if row["object_type"] != ApiToken._meta.label_lower]
    return state


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_quality_endpoint_permissions(world, case: Case, actor: str) -> None:
    # given
    records = build(world)
    client = ApiClient(world.user(actor))
    path = case.path(records)
    data = case.data(records) if case.data else None
    before = _state()
    # when
    response = client.request(case.method, path, json=data)
    # then
    if actor == "anonymous":
        assert response.status_code == 401
        assert _state() == before
        return
    expected = case.expected[actor]
    assert response.status_code == expected, (case.name, actor, response.content[:300])
    if expected >= 400:
        body = response.json()
        assert set(body) >= {"message", "code", "fields"}
    if expected >= 400 or not case.writes:
        assert _state() == before
    else:
        assert _state() != before
