"""The follow-up API: logging with the over-contact 409 and its override, the error contract with
the API's field names, no personal data of contacts in the log, tasks and compliance, the
communication plan's optimistic locking, and the list's query count pinned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guanxi.engagement import services
from guanxi.engagement.models import FollowUpTask, Interaction
from tests.conftest import ApiClient, Org
from tests.engagement.conftest import db_state, log, make_contact, make_customer

pytestmark = pytest.mark.django_db


def _body(customer, **fields):
    return {"customer_id": customer.pk, "channel": "wechat", "content": "行业资讯", **fields}


def test_over_contact_is_a_409_with_a_code_unless_overridden(org: Org):
    customer = make_customer(org.rep, "潜在客户有限公司", lifecycle="potential")
    api = ApiClient(org.rep, language="en")
    assert api.post("/api/v1/interactions", _body(customer)).status_code == 201
    before = db_state()
    refused = api.post("/api/v1/interactions", _body(customer))
    assert refused.status_code == 409
    payload = refused.json()
    assert payload["code"] == "over_contact" and payload["fields"] == {}
    assert payload["limits"][0]["max_count"] == 1 and payload["limits"][0]["source"] == "policy"
    assert db_state() == before
    allowed = api.post("/api/v1/interactions", _body(customer, allow_over_contact=True))
    assert allowed.status_code == 201 and allowed.json()["over_contact_confirmed"] is True


def test_field_errors_use_the_apis_names(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    stranger = make_contact(make_customer(org.rep, "别家"), "李四")
    api = ApiClient(org.rep, language="en")
    before = db_state()
    response = api.post(
        "/api/v1/interactions",
        _body(customer, contact_ids=[stranger.pk], channel="fax", next_action="回访"),
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"contact_ids", "channel", "next_action_date"}
    assert db_state() == before


def test_the_log_names_contacts_and_never_their_phones(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="closed")
    contact = make_contact(customer, "李四", title="采购经理", phones=["13800138000"])
    created = (
        ApiClient(org.rep)
        .post(
            "/api/v1/interactions",
            _body(
                customer,
                channel="visit",
                contact_ids=[contact.pk],
                participant_ids=[org.manager.pk],
                next_action="寄送样品",
                next_action_date=(timezone.localdate() + dt.timedelta(days=3)).isoformat(),
            ),
        )
        .json()
    )
    assert created["kind"] == "conversation"
    assert created["contacts"] == [{"id": contact.pk, "name": "李四", "title": "采购经理"}]
    assert created["next_task_id"] == FollowUpTask.objects.get(origin_id=created["id"]).pk
    for reader in (org.rep, org.manager, org.analyst):
        text = ApiClient(reader).get(f"/api/v1/interactions/{created['id']}").content.decode()
        assert "13800138000" not in text and "8000" not in text


def test_tasks_by_view_complete_and_compliance(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="strategic")
    services.followups_generate(today=timezone.localdate())
    api = ApiClient(org.rep, language="en")
    open_tasks = api.get("/api/v1/followups", view="open").json()["items"]
    assert {task["kind"] for task in open_tasks} == {"conversation", "report"}
    assert {task["title"] for task in open_tasks} == {
        "Deep conversation",
        "Service or industry report",
    }
    assert api.get("/api/v1/followups", view="bogus").status_code == 422
    task = next(task for task in open_tasks if task["kind"] == "report")
    done = api.post(f"/api/v1/followups/{task['id']}/complete", {"note": "已发送季度报告"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = api.post(f"/api/v1/followups/{task['id']}/complete", {})
    assert again.status_code == 409 and again.json()["code"] == "task_not_open"
    # the manager cannot hand it to someone who cannot see the customer
    refused = ApiClient(org.manager, language="en").post(
        f"/api/v1/followups/{open_tasks[0]['id']}/reassign", {"assignee_id": org.outsider.pk}
    )
    assert refused.status_code == 422 and "assignee_id" in refused.json()["fields"]
    compliance = api.get("/api/v1/followups/compliance").json()
    assert compliance["total"]["due"] == 0  # nothing's deadline has passed yet
    assert customer.pk == open_tasks[0]["customer_id"]


def test_the_plan_is_versioned(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司")
    api = ApiClient(org.rep)
    empty = api.get(f"/api/v1/customers/{customer.pk}/communication-plan").json()
    assert empty["version"] is None
    made = api.put(
        f"/api/v1/customers/{customer.pk}/communication-plan",
        {"channels": ["email"], "frequency": "quarter"},
    ).json()
    assert made["version"] == 1
    changed = api.put(
        f"/api/v1/customers/{customer.pk}/communication-plan",
        {"version": 1, "channels": ["email", "wechat"], "frequency": "quarter"},
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = api.put(
        f"/api/v1/customers/{customer.pk}/communication-plan",
        {"version": 1, "channels": [], "frequency": ""},
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    bad = api.put(
        f"/api/v1/customers/{customer.pk}/communication-plan",
        {"version": 2, "channels": ["fax"]},
    )
    assert bad.status_code == 422 and "channels" in bad.json()["fields"]


def test_the_feed_rotation_answers_the_url_once(org: Org):
    api = ApiClient(org.rep)
    first = api.post("/api/v1/calendar-feed/rotate").json()
    assert "/engagement/feed/gxcal_" in first["url"] and first["url"].endswith(".ics")
    second = api.post("/api/v1/calendar-feed/rotate").json()
    assert first["url"] != second["url"]
    path = first["url"].split("testserver", 1)[1]
    assert api.client.get(path).status_code == 404
    assert api.client.get(second["url"].split("testserver", 1)[1]).status_code == 200


# Pinned: the token and its user, the role setting, the department, the page of interactions with
# customers and authors, then contacts, participants, attachments and next tasks.
INTERACTION_API_QUERIES = 11


def test_the_interaction_list_query_count_does_not_grow_with_the_rows(org: Org):
    customers = [make_customer(org.rep, f"客户{i}", lifecycle="closed") for i in range(3)]
    api = ApiClient(org.manager)

    def add(count: int, start: int) -> None:
        for index in range(start, start + count):
            log(
                customers[index % 3],
                when=timezone.now() - dt.timedelta(days=index + 1),
                now=timezone.now(),
                participants=[org.rep.pk],
            )

    add(3, 0)
    api.get("/api/v1/interactions")
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/interactions")
    add(12, 3)
    with CaptureQueriesContext(connection) as many:
        response = api.get("/api/v1/interactions")
    assert len(response.json()["items"]) == 15 == Interaction.objects.count()
    assert len(few.captured_queries) == len(many.captured_queries)
    assert len(many.captured_queries) <= INTERACTION_API_QUERIES


def test_the_openapi_document_describes_the_follow_up_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/interactions",
        "/api/v1/followups",
        "/api/v1/followups/compliance",
        "/api/v1/maintenance-policies",
        "/api/v1/customers/{customer_id}/communication-plan",
        "/api/v1/calendar-feed/rotate",
    } <= set(spec["paths"])
    upload = spec["paths"]["/api/v1/interactions/{interaction_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


# --- dates beyond the calendar's arithmetic and nulls (review fixes) ----------------------------


def test_out_of_range_filter_dates_are_a_422_not_a_500(org: Org):
    api = ApiClient(org.rep, language="en")
    far = api.get("/api/v1/interactions", date_to="9999-12-31")
    assert far.status_code == 422
    assert far.json()["fields"]["date_to"] == ["Enter a date from 1900-01-01 to 2999-12-31."]
    assert api.get("/api/v1/interactions", date_from="0001-01-01").status_code == 422
    assert api.get("/api/v1/followups/compliance", date_to="0001-01-05").status_code == 422
    assert api.get("/api/v1/interactions", date_to="2999-12-31").status_code == 200


def test_out_of_range_filter_dates_on_the_pages_are_ignored(org: Org):
    from tests.conftest import login_client

    client = login_client(org.rep, language="en")
    assert client.get("/engagement/interactions/", {"date_to": "9999-12-31"}).status_code == 200
    assert client.get("/engagement/interactions/", {"date_from": "0001-01-01"}).status_code == 200
    assert client.get("/engagement/compliance/", {"date_to": "0001-01-05"}).status_code == 200


def test_a_null_time_or_channel_is_refused_and_changes_nothing(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="closed")
    interaction = log(customer, when=timezone.now() - dt.timedelta(days=2))
    api = ApiClient(org.rep, language="en")
    before = db_state()
    for field in ("occurred_at", "channel", "kind", "content"):
        response = api.patch(
            f"/api/v1/interactions/{interaction.pk}",
            {"version": interaction.version, field: None},
        )
        assert response.status_code == 422, field
        assert field in response.json()["fields"]
    assert db_state() == before
