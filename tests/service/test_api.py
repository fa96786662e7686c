"""The service desk's API: who may call each endpoint, the error contract, and that a refused or
invalid call changes nothing."""

from __future__ import annotations

import pytest

from guanxi.service.models import Ticket, TicketStatus
from tests.conftest import ApiClient
from tests.service.conftest import category, db_state, open_ticket

pytestmark = pytest.mark.django_db


def _payload(desk, **fields):
    return {
        "customer_id": desk.customer.pk,
        "category_id": category("product_quality").pk,
        "subject": "设备异响",
        "description": "主轴异响",
        "contact_id": desk.contact.pk,
        **fields,
    }


def test_anonymous_calls_are_401_and_change_nothing(org, desk):
    ticket = open_ticket(org, desk)
    anonymous = ApiClient(None)
    before = db_state()
    assert anonymous.get("/api/v1/tickets").status_code == 401
    assert anonymous.get(f"/api/v1/tickets/{ticket.pk}").status_code == 401
    assert anonymous.post("/api/v1/tickets", _payload(desk)).status_code == 401
    assert anonymous.post(f"/api/v1/tickets/{ticket.pk}/start", {"version": 1}).status_code == 401
    assert anonymous.get("/api/v1/ticket-figures").status_code == 401
    assert db_state() == before


def test_opening_a_ticket_routes_it_and_returns_its_deadlines(org, desk):
    response = ApiClient(org.agent).post("/api/v1/tickets", _payload(desk, priority="urgent"))
    assert response.status_code == 201
    body = response.json()
    assert body["number"].startswith("T") and body["assignee_id"] == desk.engineer1.pk
    assert body["status"] == "assigned" and body["resolution_due_at"]


def test_only_the_service_desk_opens_tickets(org, desk):
    clients = [
        ApiClient(user) for user in (org.rep, org.manager, org.handler, org.analyst, org.outsider)
    ]
    before = db_state()
    for client in clients:
        assert client.post("/api/v1/tickets", _payload(desk)).status_code == 403
    assert db_state() == before


def test_invalid_input_is_a_422_with_the_api_field_names(org, desk):
    client = ApiClient(org.agent, language="en")
    before = db_state()
    response = client.post("/api/v1/tickets", _payload(desk, subject=" ", priority="soon"))
    assert response.status_code == 422
    assert {"subject", "priority"} <= set(response.json()["fields"])
    response = client.post("/api/v1/tickets", _payload(desk, contact_id=999999))
    assert response.status_code == 422 and "contact_id" in response.json()["fields"]
    response = client.post("/api/v1/tickets", _payload(desk, category_id=999999))
    assert response.status_code == 422 and "category_id" in response.json()["fields"]
    assert db_state() == before


def test_the_list_and_detail_follow_the_scope(org, desk):
    ticket = open_ticket(org, desk)
    for user, sees in (
        (org.admin, True),
        (org.agent, True),
        (org.rep, True),
        (org.manager, True),
        (desk.engineer1, True),
        (org.handler, False),
        (org.other_rep, False),
        (org.outsider, False),
    ):
        client = ApiClient(user)
        numbers = [item["number"] for item in client.get("/api/v1/tickets").json()["items"]]
        assert (ticket.number in numbers) is sees
        assert client.get(f"/api/v1/tickets/{ticket.pk}").status_code == (200 if sees else 404)
        assert client.get(f"/api/v1/tickets/{ticket.pk}/history").status_code == (
            200 if sees else 404
        )


def test_the_flow_through_the_api(org, desk):
    ticket = open_ticket(org, desk)
    client = ApiClient(desk.engineer1)
    body = client.post(f"/api/v1/tickets/{ticket.pk}/start", {"version": ticket.version}).json()
    assert body["status"] == "in_progress" and body["first_response_at"]
    body = client.post(
        f"/api/v1/tickets/{ticket.pk}/wait", {"version": body["version"], "reason": "等客户"}
    ).json()
    assert body["status"] == "waiting" and body["resolution_due_at"] is None
    body = client.post(f"/api/v1/tickets/{ticket.pk}/resume", {"version": body["version"]}).json()
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/resolve", {"version": body["version"], "resolution": "已修复"}
    )
    assert response.status_code == 200
    assert "/service/confirm/" in response.json()["confirmation_url"]
    version = response.json()["ticket"]["version"]
    body = client.post(f"/api/v1/tickets/{ticket.pk}/close", {"version": version}).json()
    assert body["status"] == "closed"
    body = client.post(
        f"/api/v1/tickets/{ticket.pk}/reopen", {"version": body["version"], "reason": "又坏了"}
    ).json()
    assert body["status"] == "in_progress" and body["reopen_count"] == 1


def test_steps_are_refused_to_readers_and_a_wrong_status_is_a_409(org, desk):
    ticket = open_ticket(org, desk)
    readers = [
        (ApiClient(user), status)
        for user, status in (
            (org.rep, 403),
            (org.manager, 403),
            (org.handler, 404),
            (org.outsider, 404),
        )
    ]
    agent = ApiClient(org.agent)
    before = db_state()
    for client, status in readers:
        response = client.post(f"/api/v1/tickets/{ticket.pk}/start", {"version": 1})
        assert response.status_code == status
    response = agent.post(f"/api/v1/tickets/{ticket.pk}/resume", {"version": 1})
    assert response.status_code == 409 and response.json()["code"] == "ticket_status"
    response = agent.post(f"/api/v1/tickets/{ticket.pk}/start", {"version": 99})
    assert response.status_code == 409
    assert db_state() == before


def test_assigning_needs_a_team_member_and_a_reason(org, desk):
    ticket = open_ticket(org, desk)
    client = ApiClient(org.agent)
    before = db_state()
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/assign",
        {"version": ticket.version, "assignee_id": org.rep.pk},
    )
    assert response.status_code == 422 and "assignee_id" in response.json()["fields"]
    assert db_state() == before
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/assign",
        {"version": ticket.version, "assignee_id": org.handler.pk, "reason": "安装问题"},
    )
    assert response.status_code == 200 and response.json()["assignee_id"] == org.handler.pk


def test_comments_through_the_api(org, desk):
    ticket = open_ticket(org, desk)
    path = f"/api/v1/tickets/{ticket.pk}/comments"
    assert ApiClient(org.rep).post(path, {"body": "客户很着急"}).status_code == 201
    assert ApiClient(org.rep).post(path, {"body": "您好", "internal": False}).status_code == 403
    assert ApiClient(org.outsider).post(path, {"body": "x"}).status_code == 404
    assert [c["body"] for c in ApiClient(org.agent).get(path).json()] == ["客户很着急"]
    assert ApiClient(org.outsider).get(path).status_code == 404


def test_figures_through_the_api(org, desk):
    ticket = open_ticket(org, desk)
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.RESOLVED)
    rows = ApiClient(org.admin).get("/api/v1/ticket-figures", group="department").json()
    assert [row["label"] for row in rows] == ["技术部"] and rows[0]["total"] == 1
    assert ApiClient(org.outsider).get("/api/v1/ticket-figures").json() == []
    assert ApiClient(org.admin).get("/api/v1/ticket-figures", group="colour").status_code == 422
    response = ApiClient(org.admin).get(
        "/api/v1/ticket-figures", date_from="2026-05-01", date_to="2026-04-01"
    )
    assert response.status_code == 422
