"""The public answer page: no login, this survey's questions and the customer's own name and
nothing else, answered once, Chinese first, rate-limited, and an unknown link that tells nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from guanxi.feedback.models import FeedbackItem, SurveyResponse
from tests.conftest import Org
from tests.feedback.conftest import (
    db_state,
    make_contact,
    make_customer,
    make_survey,
    send,
    token_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(org: Org):
    customer = make_customer(org.rep, "华为技术有限公司", address="深圳市龙岗区坂田华为基地")
    make_contact(
        customer,
        "李四",
        title="采购总监",
        phones=["13800138000"],
        email="li.si@example.com",
        decision_role="decision_maker",
    )
    other = make_customer(org.rep, "腾讯科技有限公司")
    make_contact(other, "马化腾", phones=["13900139000"])
    survey = make_survey(org.analyst, intro="您好，耽误您一分钟。")
    result = send(org.analyst, survey)
    tokens = {link.invitation.customer_id: token_of(link.url) for link in result.links}
    return survey, customer, tokens[customer.pk], tokens[other.pk]


def _url(token: str) -> str:
    return f"/feedback/s/{token}/"


def _answers(survey, score: str = "4", text: str = "") -> dict[str, str]:
    data = {}
    for question in survey.questions.all():
        data[f"q{question.pk}"] = score if question.type == "score" else text
    return data


def test_the_page_shows_the_questions_and_only_the_customers_name(sent) -> None:
    survey, _customer, token, _other = sent
    response = Client().get(_url(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert survey.title in page and "您好，耽误您一分钟。" in page
    assert "华为技术有限公司" in page
    for question in survey.questions.all():
        assert question.text in page
    # nothing else about the customer, its contact or any other customer
    for secret in (
        "李四",
        "采购总监",
        "13800138000",
        "138****8000",
        "li.si@example.com",
        "坂田",
        "腾讯",
        "马化腾",
        "rep1",
    ):
        assert secret not in page
    # a plain form: works without JavaScript
    assert 'method="post"' in page and 'type="radio"' in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_page_is_chinese_first_and_english_on_request(sent) -> None:
    # (the Chinese wording itself comes with the catalogue; the language chosen is checked here)
    _survey, _customer, token, _other = sent
    assert '<html lang="zh-hans">' in Client().get(_url(token)).content.decode()
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").get(_url(token)).content.decode()
    assert '<html lang="zh-hans">' in chinese
    english = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8").get(_url(token)).content.decode()
    assert '<html lang="en">' in english
    assert "Send my answers" in english


def test_a_link_answers_once(sent) -> None:
    survey, customer, token, _other = sent
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    # when
    response = client.post(_url(token), _answers(survey, "1", "质量差"))
    # then
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    stored = SurveyResponse.objects.get()
    assert stored.customer == customer
    assert FeedbackItem.objects.get().score == 1
    # when the same link is submitted again
    before = db_state()
    again = client.post(_url(token), _answers(survey, "5"))
    # then a clear message, and nothing changed
    assert again.status_code == 409
    assert "already been answered" in again.content.decode()
    assert db_state() == before
    reopened = Client().get(_url(token))
    assert reopened.status_code == 200
    assert 'data-testid="survey-answered"' in reopened.content.decode()
    assert 'data-testid="survey-form"' not in reopened.content.decode()


def test_missing_answers_are_shown_on_the_page_and_nothing_is_kept(sent) -> None:
    survey, _customer, token, _other = sent
    before = db_state()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(_url(token), {})
    assert response.status_code == 400
    assert "Please answer this question." in response.content.decode()
    assert db_state() == before


def _page_without(response, token: str) -> str:
    """The page with what differs per request taken out: the CSRF token and the page's own
    address (the language switch returns to it)."""
    text = response.content.decode().replace(token, "TOKEN")
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", text)


def test_an_unknown_an_expired_and_a_closed_link_look_the_same(org: Org, sent) -> None:
    from guanxi.feedback import services

    survey, _customer, token, other_token = sent
    unknown = _page_without(Client().get(_url("nothing-like-a-token")), "nothing-like-a-token")
    with freeze_time(timezone.now() + dt.timedelta(days=30)):
        expired = Client().get(_url(token))
    assert expired.status_code == 404
    assert _page_without(expired, token) == unknown
    services.survey_close(actor=org.analyst, survey=survey, version=survey.version)
    closed = Client().post(_url(other_token), _answers(survey))
    assert closed.status_code == 404
    assert _page_without(closed, other_token) == unknown
    assert not SurveyResponse.objects.exists()


def test_a_link_answers_only_its_own_survey(org: Org, sent) -> None:
    # given a second survey sent to the same customer
    survey, customer, token, _other = sent
    second = make_survey(org.analyst, "nps", title="推荐意愿调查")
    second_token = token_of(
        next(
            link.url
            for link in send(org.analyst, second).links
            if link.invitation.customer_id == customer.pk
        )
    )
    # when the first survey's link is posted with the second survey's questions
    before = db_state()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(_url(token), _answers(second, "0"))
    # then it is the first survey that asks for its answers, and nothing is recorded
    assert response.status_code == 400
    assert survey.title in response.content.decode()
    assert db_state() == before
    # and each link opens its own survey
    assert second.title in Client().get(_url(second_token)).content.decode()
    assert second.title not in Client().get(_url(token)).content.decode()


def test_a_client_opening_too_many_links_is_refused(sent) -> None:
    _survey, _customer, token, _other = sent
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    codes = [client.get(_url(f"guess-{n}")).status_code for n in range(30)]
    assert set(codes) == {404}
    # then even the real link waits
    refused = client.get(_url(token))
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    # another address is not affected
    assert Client(REMOTE_ADDR="10.0.0.9").get(_url(token)).status_code == 200
