"""Surveys: their questions, sending to a segment in the sender's scope, delivery by e-mail or by
link, and answering once through the link (a low score opens a feedback item)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from freezegun import freeze_time

from guanxi.core.exceptions import NotFoundError, PermissionDeniedError
from guanxi.feedback import services
from guanxi.feedback.models import (
    FeedbackItem,
    SurveyInvitation,
    SurveyResponse,
    SurveyStatus,
)
from guanxi.feedback.selectors import survey_send_preview, token_hash
from tests.conftest import Org
from tests.feedback.conftest import (
    answer,
    db_state,
    make_contact,
    make_customer,
    make_survey,
    send,
    token_of,
)

pytestmark = pytest.mark.django_db


# --- questions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "types"),
    [
        ("csat", ["score", "text"]),
        ("nps", ["nps", "text"]),
        ("custom", ["score", "score", "score", "score", "text"]),
    ],
)
def test_a_new_survey_starts_with_its_kinds_questions(org: Org, kind: str, types) -> None:
    survey = make_survey(org.analyst, kind)
    assert survey.status == SurveyStatus.DRAFT
    assert [q.type for q in survey.questions.order_by("position")] == types
    if kind == "custom":
        dimensions = [q.dimension for q in survey.questions.order_by("position")]
        assert dimensions == ["quality", "price", "attitude", "speed", "other"]


@pytest.mark.parametrize(
    ("kind", "questions", "message"),
    [
        ("csat", [{"text": "意见？", "type": "text"}], "1–5 score"),
        ("nps", [{"text": "满意吗？", "type": "score"}], "0–10"),
        ("custom", [], "at least one question"),
        ("custom", [{"text": "颜色", "type": "choice", "choices": ["红"]}], "2 to 10 options"),
        ("custom", [{"text": "", "type": "score"}], "empty"),
        ("custom", [{"text": "好吗", "type": "stars"}], "type"),
    ],
)
def test_questions_that_do_not_fit_are_refused(org: Org, kind, questions, message) -> None:
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        make_survey(org.analyst, kind, questions=questions)
    assert message in " ".join(raised.value.message_dict["questions"])
    assert db_state() == before


@pytest.mark.parametrize("who", ["rep", "kam", "handler", "outsider"])
def test_only_survey_roles_create_surveys(org: Org, who: str) -> None:
    with pytest.raises(PermissionDeniedError):
        make_survey(getattr(org, who))


def test_a_draft_is_edited_with_its_questions_and_a_sent_survey_is_frozen(org: Org) -> None:
    survey = make_survey(org.analyst, "custom")
    edited = services.survey_update(
        actor=org.manager,
        survey=survey,
        data={
            "title": "渠道满意度",
            "questions": [
                {"text": "总体满意度", "type": "score", "dimension": "overall"},
                {"text": "您从哪里了解我们", "type": "choice", "choices": "展会\n官网\n朋友"},
            ],
        },
        version=survey.version,
    )
    assert edited.title == "渠道满意度"
    assert [q.choices for q in edited.questions.order_by("position")] == [
        [],
        ["展会", "官网", "朋友"],
    ]
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    send(org.analyst, edited)
    edited.refresh_from_db()
    before = db_state()
    with pytest.raises(services.SurveyNotEditableError):
        services.survey_update(
            actor=org.analyst, survey=edited, data={"title": "x"}, version=edited.version
        )
    assert db_state() == before


# --- sending ------------------------------------------------------------------------------------


def test_one_contact_per_customer_is_the_decision_maker_with_a_way_to_reach_them(
    org: Org,
) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "无联系方式", decision_role="decision_maker")
    make_contact(customer, "使用人", decision_role="user", email="user@example.com")
    boss = make_contact(customer, "决策人", decision_role="decision_maker", phones=["13800138000"])
    unreachable = make_customer(org.rep, "无人可联系有限公司")
    make_contact(unreachable, "孤岛")
    survey = make_survey(org.analyst)
    # when
    result = send(org.analyst, survey)
    # then
    assert [link.invitation.contact_id for link in result.links] == [boss.pk]
    assert SurveyInvitation.objects.get().customer == customer


def test_every_reachable_contact_when_asked(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    a = make_contact(customer, "甲", phones=["13800138000"])
    b = make_contact(customer, "乙", email="b@example.com")
    make_contact(customer, "丙")
    survey = make_survey(org.analyst)
    result = send(org.analyst, survey, recipients="all")
    assert {link.invitation.contact_id for link in result.links} == {a.pk, b.pk}


def test_the_segment_is_the_senders_customer_list_with_its_filters(org: Org) -> None:
    # given customers of the east team (in the agent's view: none), the manager's subtree and an
    # outsider's branch
    strategic = make_customer(org.rep, "战略客户有限公司", lifecycle="strategic")
    potential = make_customer(org.other_rep, "潜在客户有限公司", lifecycle="potential")
    far = make_customer(org.outsider, "海外客户有限公司", lifecycle="strategic")
    archived_ok = make_customer(org.rep, "往来客户有限公司", lifecycle="closed")
    for customer in (strategic, potential, far, archived_ok):
        make_contact(customer, "联系人", phones=["13800138000"])
    survey = make_survey(org.manager)
    # when the manager counts the strategic customers
    preview = survey_send_preview(
        actor=org.manager, survey=survey, filters={"lifecycle": "strategic"}
    )
    # then the outsider's customer is not among them (the manager's scope is the sales subtree)
    assert (preview.customers, preview.contacts, preview.new) == (1, 1, 1)
    result = send(org.manager, survey, filters={"lifecycle": "strategic"})
    assert [link.invitation.customer_id for link in result.links] == [strategic.pk]
    # and sending to everyone in scope later reaches the others once
    again = send(org.manager, survey)
    assert sorted(link.invitation.customer_id for link in again.links) == sorted(
        [potential.pk, archived_ok.pk]
    )
    assert again.skipped == 1
    assert SurveyInvitation.objects.filter(customer=far).count() == 0


def test_a_contact_is_invited_once_per_survey(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst)
    send(org.analyst, survey)
    before = db_state()
    result = send(org.analyst, survey)
    assert (result.invited, result.skipped, result.links) == (0, 1, [])
    assert db_state() == before


def test_only_the_hash_of_a_link_is_kept(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst)
    result = send(org.analyst, survey, expires_days=7)
    token = token_of(result.links[0].url)
    invitation = SurveyInvitation.objects.get()
    assert len(token) >= 32
    assert invitation.token_hash == token_hash(token)
    assert token not in str(list(SurveyInvitation.objects.values()))
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=7)
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.SENDING and survey.sent_at is not None


def test_contacts_with_an_email_address_get_the_link_by_email(
    org: Org, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "李四", email="li@example.com", decision_role="decision_maker")
    phone_only = make_customer(org.rep, "电话客户有限公司")
    make_contact(phone_only, "王五", phones=["13800138000"])
    survey = make_survey(org.analyst, intro="感谢您一直以来的支持。")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = send(org.analyst, survey, email=True)
    # then one e-mail went out, and the other link is for the sender
    assert (result.invited, result.by_email) == (2, 1)
    assert [link.invitation.customer_id for link in result.links] == [phone_only.pk]
    (message,) = mail.outbox
    assert message.to == ["li@example.com"]
    assert message.subject == survey.title
    assert "李四" in message.body and "感谢您一直以来的支持。" in message.body
    link = next(line for line in message.body.splitlines() if "/feedback/s/" in line).strip()
    emailed = SurveyInvitation.objects.get(contact__name="李四")
    assert emailed.emailed_at is not None
    assert emailed.token_hash == token_hash(token_of(link))
    # and running the job again sends nothing twice
    assert services.survey_invitations_email(invitation_ids=[emailed.pk]) == 0
    assert len(mail.outbox) == 1


def test_a_closed_survey_is_not_sent(org: Org) -> None:
    survey = make_survey(org.analyst)
    survey = services.survey_close(actor=org.analyst, survey=survey, version=survey.version)
    with pytest.raises(services.SurveyClosedError):
        send(org.analyst, survey)


# --- answering ----------------------------------------------------------------------------------


def _sent(org: Org, kind: str = "csat", **fields):
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", phones=["13800138000"])
    survey = make_survey(org.analyst, kind, **fields)
    result = send(org.analyst, survey)
    return survey, customer, contact, token_of(result.links[0].url)


def test_answers_are_kept_per_contact_and_a_link_answers_once(org: Org) -> None:
    survey, customer, contact, token = _sent(org)
    response = answer(token, survey, score=4, text="服务很好")
    assert (response.customer, response.contact) == (customer, contact)
    assert sorted(
        (a.question.type, a.score, a.text) for a in response.answers.select_related("question")
    ) == [("score", 4, ""), ("text", None, "服务很好")]
    assert SurveyInvitation.objects.get().answered_at is not None
    assert not FeedbackItem.objects.exists()
    before = db_state()
    with pytest.raises(services.SurveyAlreadyAnsweredError):
        answer(token, survey, score=1)
    assert db_state() == before


def test_a_low_score_opens_one_feedback_item_for_the_customers_owner(org: Org) -> None:
    survey, customer, contact, token = _sent(org)
    response = answer(token, survey, score=2, text="交货太慢")
    item = FeedbackItem.objects.get()
    assert (item.customer, item.contact, item.owner) == (customer, contact, org.rep)
    assert (item.source, item.score, item.survey_response) == ("survey", 2, response)
    assert item.comment == "交货太慢"
    assert survey.title in item.summary


def test_the_nps_threshold_is_six_and_can_be_changed(org: Org) -> None:
    survey, _customer, _contact, token = _sent(org, "nps", negative_nps_max=5)
    answer(token, survey, nps=6)
    assert not FeedbackItem.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"), [("", "Please answer"), ("6", "from 1 to 5"), ("x", "from 1 to 5")]
)
def test_a_bad_answer_is_refused_and_records_nothing(org: Org, value: str, message: str) -> None:
    survey, _customer, _contact, token = _sent(org)
    question = survey.questions.get(type="score")
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        answer(token, survey, scores={str(question.pk): value})
    assert message in raised.value.message_dict[f"q{question.pk}"][0]
    assert db_state() == before


def test_an_expired_link_or_a_closed_survey_opens_nothing(org: Org) -> None:
    survey, _customer, _contact, token = _sent(org)
    later = timezone.now() + dt.timedelta(days=15)
    with freeze_time(later), pytest.raises(NotFoundError):
        answer(token, survey)
    closed = services.survey_close(actor=org.analyst, survey=survey, version=survey.version)
    with pytest.raises(NotFoundError):
        answer(token, closed)
    assert not SurveyResponse.objects.exists()


def test_new_links_replace_the_old_ones_for_unanswered_invitations(org: Org) -> None:
    survey, customer, _contact, token = _sent(org)
    links = services.survey_links_reissue(actor=org.analyst, survey=survey)
    assert len(links) == 1
    with pytest.raises(NotFoundError):
        answer(token, survey)
    answer(token_of(links[0].url), survey)
    assert SurveyResponse.objects.get().customer == customer
    assert services.survey_links_reissue(actor=org.analyst, survey=survey) == []
