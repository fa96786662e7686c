"""The quality review API's contract: payloads, field errors named as the API names them, the
409s, the draw with a seed, the figures."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from guanxi.service.quality.models import Review, ScoreCriterion
from tests.conftest import ApiClient
from tests.quality.conftest import (
    PERIOD_END,
    PERIOD_START,
    db_state,
    full_scores,
    make_interaction,
    make_ticket,
)


def _payload(sheet, ticket, **overrides):
    scores = {str(pk): points for pk, points in full_scores(sheet).items()}
    scores.update({str(k): v for k, v in overrides.items()})
    return {"sheet_id": sheet.pk, "ticket_id": ticket.pk, "scores": scores, "comment": "整体良好"}


@pytest.mark.django_db
def test_a_review_is_created_and_read_back(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    timely = ScoreCriterion.objects.get(sheet=world.ticket_sheet, name="响应及时")
    body = _payload(world.ticket_sheet, ticket, **{str(timely.pk): 15})
    body["comments"] = {str(timely.pk): "首次响应超时 10 分钟"}
    response = ApiClient(world.lead).post("/api/v1/quality/reviews", body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["total"] == 95 and data["max_total"] == 100 and data["percent"] == 95.0
    assert data["passed"] is True and data["status"] == "submitted"
    assert data["agent"] == {"id": world.org.agent.pk, "name": world.org.agent.get_full_name()}
    assert data["item_label"] == ticket.number
    first = data["scores"][0]
    assert first == {
        "criterion_id": timely.pk,
        "name": "响应及时",
        "max_points": 20,
        "critical": False,
        "points": 15,
        "comment": "首次响应超时 10 分钟",
    }
    # the agent reads it in their list
    mine = ApiClient(world.org.agent).get("/api/v1/quality/reviews", view="mine").json()
    assert [item["id"] for item in mine["items"]] == [data["id"]]


@pytest.mark.django_db
def test_score_errors_name_the_criteria_as_the_payload_does(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    timely = ScoreCriterion.objects.get(sheet=world.ticket_sheet, name="响应及时")
    red_line = ScoreCriterion.objects.get(sheet=world.ticket_sheet, name="服务红线")
    body = _payload(world.ticket_sheet, ticket, **{str(timely.pk): 21})
    del body["scores"][str(red_line.pk)]
    client = ApiClient(world.lead, language="en")
    before = db_state()
    response = client.post("/api/v1/quality/reviews", body)
    assert response.status_code == 422
    assert response.json()["fields"] == {
        f"scores.{timely.pk}": ["Enter a number from 0 to 20."],
        f"scores.{red_line.pk}": ["Score this criterion."],
    }
    assert db_state() == before


@pytest.mark.django_db
def test_a_score_that_is_not_a_number_is_refused_by_the_schema(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    body = _payload(world.ticket_sheet, ticket)
    key = next(iter(body["scores"]))
    body["scores"][key] = "十"
    client = ApiClient(world.lead, language="en")
    before = db_state()
    response = client.post("/api/v1/quality/reviews", body)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == [f"scores.{key}"]
    assert db_state() == before


@pytest.mark.django_db
def test_a_second_review_is_a_409_with_a_clear_code(world):
    ticket = make_ticket(world, assignee=world.org.agent)
    body = _payload(world.ticket_sheet, ticket)
    assert ApiClient(world.lead).post("/api/v1/quality/reviews", body).status_code == 201
    client = ApiClient(world.org.admin, language="en")
    before = db_state()
    response = client.post("/api/v1/quality/reviews", body)
    assert response.status_code == 409
    assert response.json() == {
        "message": "This item has already been reviewed with this score sheet.",
        "code": "already_reviewed",
        "fields": {},
    }
    assert db_state() == before


def _submit_at_once(payloads: list[tuple[int, dict]]) -> list[int]:
    """Each (user id, payload) posted from its own thread and connection, released together."""
    from guanxi.accounts.models import User

    barrier = threading.Barrier(len(payloads))

    def post(item: tuple[int, dict]) -> int:
        user_id, body = item
        try:
            client = ApiClient(User.objects.get(pk=user_id))
            barrier.wait(timeout=30)
            return client.post("/api/v1/quality/reviews", body).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return list(pool.map(post, payloads))


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_at_once_is_one_review_and_one_409(world):
    # given two reviewers about to submit the same ticket on the same sheet
    ticket = make_ticket(world, assignee=world.org.agent)
    body = _payload(world.ticket_sheet, ticket)
    payloads = [(world.lead.pk, body), (world.org.admin.pk, body)]
    if connection.vendor == "postgresql":
        # when both submit at the same moment, each on its own connection
        codes = _submit_at_once(payloads)
    else:
        # SQLite's in-memory test database is shared-cache, where a second writer fails at once
        # instead of waiting: the two submissions come one after the other, and the second one
        # meets the same database constraint as the loser of the race.
        from guanxi.accounts.models import User

        codes = [
            ApiClient(User.objects.get(pk=user_id))
            .post("/api/v1/quality/reviews", data)
            .status_code
            for user_id, data in payloads
        ]
    # then exactly one review exists and the other submission was told so
    assert sorted(codes) == [201, 409]
    assert Review.objects.filter(ticket=ticket).count() == 1
    assert Review.objects.get(ticket=ticket).scores.count() == 6


@pytest.mark.django_db
def test_the_draw_with_a_seed_is_reproducible_over_the_api(world):
    for _ in range(6):
        make_ticket(world, assignee=world.org.agent)
    client = ApiClient(world.lead)
    body = {
        "sheet_id": world.ticket_sheet.pk,
        "period_start": PERIOD_START.isoformat(),
        "period_end": PERIOD_END.isoformat(),
        "per_agent": 3,
        "seed": 42,
    }
    first = client.post("/api/v1/quality/samples", body).json()
    assert first["created"] == 3 and first["candidates"] == 6 and first["agents"] == 1
    again = client.post("/api/v1/quality/samples", body).json()
    # idempotent: the three drawn are not drawn again; the other three come out
    assert again["created"] == 3 and again["candidates"] == 3
    picked = {a["ticket_id"] for a in first["assignments"]}
    assert picked.isdisjoint({a["ticket_id"] for a in again["assignments"]})
    queue = client.get("/api/v1/quality/assignments").json()
    assert len(queue["items"]) == 6


@pytest.mark.django_db
def test_a_sheet_is_created_whole_or_not_at_all(world):
    client = ApiClient(world.org.admin, language="en")
    before = db_state()
    response = client.post(
        "/api/v1/quality/sheets",
        {
            "name": "新表",
            "applies_to": "ticket",
            "criteria": [{"name": "好", "max_points": 10}, {"name": "坏", "max_points": 0}],
        },
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["criteria.1.max_points"]
    assert db_state() == before


@pytest.mark.django_db
def test_a_stale_sheet_version_is_a_conflict(world):
    client = ApiClient(world.org.admin)
    sheet = world.ticket_sheet
    assert (
        client.patch(
            f"/api/v1/quality/sheets/{sheet.pk}", {"version": sheet.version, "pass_percent": 85}
        ).status_code
        == 200
    )
    before = db_state()
    response = client.patch(
        f"/api/v1/quality/sheets/{sheet.pk}", {"version": sheet.version, "pass_percent": 90}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert db_state() == before


@pytest.mark.django_db
def test_the_figures_endpoint(world):
    from tests.quality.conftest import review_interaction, review_ticket

    review_ticket(world, make_ticket(world, assignee=world.org.agent), 服务红线=0)
    review_interaction(world, make_interaction(world))
    response = ApiClient(world.org.admin).get(
        "/api/v1/quality/figures",
        date_from=PERIOD_START.isoformat(),
        date_to=PERIOD_END.isoformat(),
    )
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == {
        "id": None,
        "name": "",
        "reviews": 2,
        "passed": 1,
        "average": 97.5,
        "pass_rate": 50.0,
    }
    assert {row["kind"] for row in data["teams"]} == {"team", "department"}
    red_line = next(row for row in data["criteria"] if row["name"] == "服务红线")
    assert red_line["critical"] is True and red_line["critical_failed"] == 1
    bad = ApiClient(world.org.admin).get("/api/v1/quality/figures", kind="orders")
    assert bad.status_code == 422 and list(bad.json()["fields"]) == ["kind"]
