"""The feedback pages at work: the item list (HTMX fragment, filters, a fixed number of queries),
one item with its forms, recording feedback, a survey's form with inline questions, sending
with a preview and a confirming POST (links on the page or as CSV), the results and the
analysis, and what the customer and ticket pages get."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from guanxi.feedback import services
from guanxi.feedback.models import FeedbackItem, Survey, SurveyInvitation
from tests.conftest import Org, login_client
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


# --- items --------------------------------------------------------------------------------------


def test_the_list_answers_htmx_with_its_fragment_and_filters(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    _item(customer, summary="第一条反馈")
    _item(make_customer(None, "公海客户有限公司"), summary="无人负责的反馈")
    client = login_client(org.agent, language="en")
    # when
    page = client.get("/feedback/")
    fragment = client.get("/feedback/?owner=none", headers={"HX-Request": "true"})
    # then
    assert page.status_code == 200
    assert "第一条反馈" in page.content.decode() and "无人负责的反馈" in page.content.decode()
    body = fragment.content.decode()
    assert "<html" not in body
    assert "无人负责的反馈" in body and "第一条反馈" not in body
    assert 'hx-get="/feedback/"' in page.content.decode()
    assert 'action="/feedback/"' in page.content.decode()


def test_the_list_costs_the_same_queries_whatever_its_length(
    org: Org, django_assert_num_queries
) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    for n in range(2):
        _item(customer, summary=f"反馈{n}", ticket=make_ticket(customer, assignee=org.agent))
    client = login_client(org.manager)
    client.get("/feedback/")  # warm the session and the role settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get("/feedback/").status_code == 200
    for n in range(2, 8):
        _item(customer, summary=f"反馈{n}", ticket=make_ticket(customer, assignee=org.agent))
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get("/feedback/").status_code == 200


def test_the_item_page_masks_the_contact_for_all_but_the_customers_owner(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", phones=["13800138000"], email="li@example.com")
    item = _item(customer, contact=contact)
    owner_view = login_client(org.rep).get(f"/feedback/items/{item.pk}/").content.decode()
    manager_view = login_client(org.manager).get(f"/feedback/items/{item.pk}/").content.decode()
    assert "+8613800138000" in owner_view and "li@example.com" in owner_view
    assert "13800138000" not in manager_view and "li@example.com" not in manager_view
    assert "****" in manager_view


def test_responding_and_closing_through_the_page(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _item(customer)
    client = login_client(org.rep, language="en")
    # an empty response is refused on the page
    refused = client.post(f"/feedback/items/{item.pk}/respond/", {"version": item.version})
    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    # a response with its improvement action
    due = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    done = client.post(
        f"/feedback/items/{item.pk}/respond/",
        {
            "version": item.version,
            "response": "已电话致歉",
            "improvement_action": "加装出厂自检",
            "improvement_due": due,
        },
    )
    assert done.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.improvement_action) == ("responded", "加装出厂自检")
    # a stale form is a conflict that saves nothing
    before = db_state()
    stale = client.post(
        f"/feedback/items/{item.pk}/respond/", {"version": item.version - 1, "response": "改"}
    )
    assert stale.status_code == 409
    assert 'data-testid="conflict"' in stale.content.decode()
    assert db_state() == before
    # closing keeps the action recorded with the response
    closed = client.post(f"/feedback/items/{item.pk}/close/", {"version": item.version})
    assert closed.status_code == 302
    item.refresh_from_db()
    assert item.status == "closed"


def test_staff_record_feedback_from_the_customer_page(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四")
    client = login_client(org.rep)
    customer_page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="feedback-card"' in customer_page
    assert f"/feedback/customers/{customer.pk}/new/" in customer_page
    response = client.post(
        f"/feedback/customers/{customer.pk}/new/",
        {"source": "staff", "contact": contact.pk, "score": "3", "summary": "嫌报价太高"},
    )
    item = FeedbackItem.objects.get()
    assert response["Location"] == f"/feedback/items/{item.pk}/"
    assert (item.source, item.contact, item.score, item.owner) == ("staff", contact, 3, org.rep)
    assert "嫌报价太高" in client.get(f"/customers/{customer.pk}/").content.decode()


def test_the_ticket_page_partial_lists_the_tickets_items(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    ticket = make_ticket(customer, assignee=org.agent)
    item = _item(customer, ticket=ticket, score=1)
    html = render_to_string("feedback/partials/ticket_feedback.html", {"items": [item]})
    assert f'href="/feedback/items/{item.pk}/"' in html
    assert "T1 设备故障" in html and org.agent.get_full_name() in html
    assert "ticket-feedback-item" in html


# --- surveys ------------------------------------------------------------------------------------


def test_a_survey_is_made_with_its_questions_inline(org: Org) -> None:
    client = login_client(org.analyst, language="en")
    form = client.get("/feedback/surveys/new/?kind=nps").content.decode()
    assert "recommend us" in form
    data = {
        "title": "渠道调查",
        "kind": "custom",
        "intro": "",
        "negative_score_max": "2",
        "negative_nps_max": "6",
        "rows": "2",
        "q-0-text": "您从哪里了解我们",
        "q-0-type": "choice",
        "q-0-dimension": "other",
        "q-0-choices": "展会\n官网\n\n朋友",
        "q-0-required": "on",
        "q-1-text": "",
        "q-1-type": "score",
        "q-1-dimension": "overall",
    }
    # asking for more rows keeps what was typed and saves nothing
    more = client.post("/feedback/surveys/new/", {**data, "add_rows": "1"})
    assert more.status_code == 200
    assert len(re.findall(r'data-testid="question-row"', more.content.decode())) == 4
    assert "您从哪里了解我们" in more.content.decode()
    assert not Survey.objects.exists()
    # saving
    saved = client.post("/feedback/surveys/new/", data)
    survey = Survey.objects.get()
    assert saved["Location"] == f"/feedback/surveys/{survey.pk}/"
    (question,) = survey.questions.all()
    assert (question.type, question.choices) == ("choice", ["展会", "官网", "朋友"])
    # a choice without options is refused on the page
    data["q-0-choices"] = "只有一个"
    refused = client.post(f"/feedback/surveys/{survey.pk}/edit/", {**data, "version": "1"})
    assert refused.status_code == 400
    assert "2 to 10 options" in refused.content.decode()


def test_a_sent_survey_cannot_be_edited(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst)
    send(org.analyst, survey)
    response = login_client(org.analyst, language="en").get(f"/feedback/surveys/{survey.pk}/edit/")
    assert response.status_code == 409
    assert "can no longer change" in response.content.decode()


def test_sending_counts_first_then_shows_the_links_once(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司", lifecycle="strategic")
    make_contact(customer, "李四", phones=["13800138000"])
    other = make_customer(org.rep, "腾讯科技有限公司", lifecycle="potential")
    make_contact(other, "王五", phones=["13900139000"])
    survey = make_survey(org.analyst)
    client = login_client(org.analyst, language="en")
    segment = {"lifecycle": "strategic", "recipients": "primary", "expires_days": "14"}
    before = db_state()
    preview = client.post(f"/feedback/surveys/{survey.pk}/send/", segment)
    assert preview.status_code == 200
    assert "1 customers in the segment; 1 contacts reached." in preview.content.decode()
    assert db_state() == before
    sent = client.post(f"/feedback/surveys/{survey.pk}/send/", {**segment, "confirm": "1"})
    assert sent.status_code == 200
    links = re.findall(r"http://[^<\"]+/feedback/s/[^<\"/]+/", sent.content.decode())
    assert len(links) == 1
    assert SurveyInvitation.objects.get().customer == customer
    # the link opens the survey for whoever holds it
    assert Client().get(urlsplit(links[0]).path).status_code == 200


def test_the_links_can_be_downloaded_as_csv_with_personal_data_masked(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst)
    response = login_client(org.analyst, language="en").post(
        f"/feedback/surveys/{survey.pk}/send/",
        {"recipients": "primary", "expires_days": "14", "confirm": "1", "output": "csv"},
    )
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    header, row = text.strip().splitlines()
    assert header.startswith("Customer,Contact,E-mail,Phone,Link")
    assert "华为技术有限公司,李四" in row and "/feedback/s/" in row
    assert "13800138000" not in row and "****" in row


def test_results_and_analysis_pages_show_the_figures(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst)
    token = token_of(send(org.analyst, survey).links[0].url)
    answer(token, survey, score=2, text="交期太长")
    client = login_client(org.manager, language="en")
    results = client.get(f"/feedback/surveys/{survey.pk}/results/").content.decode()
    assert 'data-testid="overall-csat">2.0<' in results
    assert "交期太长" in results
    assert 'data-bar-chart="feedback-csat-data"' in results
    assert "<script>" not in results  # CSP: data in JSON script elements only
    analysis = client.get("/feedback/analysis/")
    assert analysis.status_code == 200
    assert 'data-testid="overall-responses">1<' in analysis.content.decode()
    assert client.get("/feedback/analysis/?date_to=9999-12-31").status_code == 400
