"""The feedback API at work and its error contract: field errors as 422 with the API's names,
stale versions and state conflicts as 409, a strict segment, links in the send's answer only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.feedback import services
from guanxi.feedback.models import FeedbackItem, Survey, SurveyInvitation
from tests.conftest import ApiClient, Org
from tests.feedback.conftest import (
    answer,
    db_state,
    make_contact,
    make_customer,
    make_survey,
    make_ticket,
    send,
    token_of,
)

pytestmark = pytest.mark.django_db


def _item(customer, **fields) -> FeedbackItem:
    fields.setdefault("source", "ticket_csat")
    fields.setdefault("summary", "T1 设备故障")
    return services.feedback_item_open(actor=None, customer=customer, **fields)


def test_an_item_through_its_life(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    ticket = make_ticket(customer, assignee=org.agent)
    item = _item(customer, ticket=ticket, score=1)
    api = ApiClient(org.agent, language="en")
    listed = api.get("/api/v1/feedback-items", ticket_id=ticket.pk, status="open").json()
    assert [row["id"] for row in listed["items"]] == [item.pk]
    shown = api.get(f"/api/v1/feedback-items/{item.pk}").json()
    assert shown["ticket_number"] == ticket.number
    assert (shown["owner_id"], shown["status"], shown["can_answer"]) == (org.agent.pk, "open", True)
    # respond with an action
    due = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    responded = api.post(
        f"/api/v1/feedback-items/{item.pk}/respond",
        {
            "version": shown["version"],
            "response": "已上门更换",
            "improvement_action": "供应商来料抽检",
            "improvement_due": due,
        },
    )
    assert responded.status_code == 200
    body = responded.json()
    assert (body["status"], body["improvement_due"]) == ("responded", due)
    closed = api.post(f"/api/v1/feedback-items/{item.pk}/close", {"version": body["version"]})
    assert closed.json()["status"] == "closed"


def test_item_errors_follow_the_contract(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _item(customer)
    api = ApiClient(org.rep, language="en")
    before = db_state()
    empty = api.post(f"/api/v1/feedback-items/{item.pk}/respond", {"version": 1, "response": ""})
    assert empty.status_code == 422
    assert set(empty.json()["fields"]) == {"response"}
    not_yet = api.post(f"/api/v1/feedback-items/{item.pk}/close", {"version": 1})
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "feedback_not_responded")
    nobody = api.post(
        f"/api/v1/feedback-items/{item.pk}/assign", {"version": 1, "owner_id": org.other_rep.pk}
    )
    assert (nobody.status_code, list(nobody.json()["fields"])) == (422, ["owner_id"])
    bad_filter = api.get("/api/v1/feedback-items", status="pending")
    assert (bad_filter.status_code, list(bad_filter.json()["fields"])) == (422, ["status"])
    assert db_state() == before
    api.post(f"/api/v1/feedback-items/{item.pk}/respond", {"version": 1, "response": "好"})
    stale = api.post(f"/api/v1/feedback-items/{item.pk}/respond", {"version": 1, "response": "再"})
    assert (stale.status_code, stale.json()["code"]) == (409, "conflict")
    assert stale.json()["conflicts"]["response"]["theirs"] == "好"


def test_recording_feedback_checks_the_contact(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    elsewhere = make_contact(make_customer(org.rep, "腾讯科技有限公司"), "马六")
    api = ApiClient(org.rep, language="en")
    before = db_state()
    refused = api.post(
        "/api/v1/feedback-items",
        {"customer_id": customer.pk, "summary": "抱怨", "contact_id": elsewhere.pk},
    )
    assert (refused.status_code, list(refused.json()["fields"])) == (422, ["contact_id"])
    low = api.post(
        "/api/v1/feedback-items", {"customer_id": customer.pk, "summary": "抱怨", "score": 11}
    )
    assert (low.status_code, list(low.json()["fields"])) == (422, ["score"])
    assert db_state() == before
    made = api.post(
        "/api/v1/feedback-items", {"customer_id": customer.pk, "summary": "抱怨", "score": 2}
    )
    assert made.status_code == 201
    assert (made.json()["source"], made.json()["owner_id"]) == ("staff", org.rep.pk)


def test_a_survey_through_the_api(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="strategic")
    make_contact(customer, "李四", phones=["13800138000"])
    api = ApiClient(org.analyst, language="en")
    refused = api.post(
        "/api/v1/surveys",
        {"title": "调查", "kind": "csat", "questions": [{"text": "建议", "type": "text"}]},
    )
    assert (refused.status_code, list(refused.json()["fields"])) == (422, ["questions"])
    created = api.post(
        "/api/v1/surveys",
        {
            "title": "年度调查",
            "kind": "custom",
            "questions": [
                {"text": "质量", "type": "score", "dimension": "quality"},
                {"text": "渠道", "type": "choice", "choices": ["展会", "官网"]},
            ],
        },
    )
    assert created.status_code == 201
    survey = created.json()
    assert [q["type"] for q in survey["questions"]] == ["score", "choice"]
    patched = api.patch(
        f"/api/v1/surveys/{survey['id']}", {"version": survey["version"], "title": "年度调查二"}
    )
    assert patched.json()["title"] == "年度调查二"
    # a segment value the customer list does not know is refused, not ignored
    bad = api.post(f"/api/v1/surveys/{survey['id']}/send", {"lifecycle": "bogus"})
    assert (bad.status_code, list(bad.json()["fields"])) == (422, ["lifecycle"])
    counted = api.post(f"/api/v1/surveys/{survey['id']}/send", {"lifecycle": "strategic"})
    assert counted.status_code == 200
    assert counted.json() == {
        "customers": 1,
        "contacts": 1,
        "already_invited": 0,
        "new": 1,
        "by_email": 0,
    }
    assert not SurveyInvitation.objects.exists()
    sent = api.post(
        f"/api/v1/surveys/{survey['id']}/send", {"lifecycle": "strategic", "confirm": True}
    )
    assert sent.status_code == 201
    (link,) = sent.json()["links"]
    assert (link["customer_name"], link["contact_name"]) == ("华为技术有限公司", "李四")
    frozen = api.patch(f"/api/v1/surveys/{survey['id']}", {"version": 99, "title": "x"})
    assert (frozen.status_code, frozen.json()["code"]) == (409, "survey_not_editable")
    shown = api.get(f"/api/v1/surveys/{survey['id']}").json()
    assert shown["status"] == "sending"
    assert shown["stats"]["invited"] == 1
    # the answer appears in the results
    model = Survey.objects.get(pk=survey["id"])
    answer(token_of(link["url"]), model, score=5)
    results = api.get(f"/api/v1/surveys/{survey['id']}/results").json()
    assert results["overall"]["csat_average"] == 5.0
    assert results["dimensions"][0]["key"] == "quality"


def test_analysis_across_surveys_and_its_dates(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst, "nps")
    answer(token_of(send(org.analyst, survey).links[0].url), survey, nps=10)
    make_ticket(customer, satisfaction=4, confirmed_at=timezone.now())
    api = ApiClient(org.rep, language="en")
    figures = api.get("/api/v1/surveys/analysis").json()
    assert (figures["overall"]["nps"], figures["responses"]) == (100, 1)
    assert [(r["label"], r["count"]) for r in figures["tickets_by_category"]] == [("产品质量", 1)]
    months = figures["months"]
    assert months[0]["key"] == timezone.localdate().strftime("%Y-%m")
    wrong = api.get("/api/v1/surveys/analysis", date_from="0001-01-01")
    assert wrong.status_code == 422
