"""Contacts who opted out of surveys and marketing (Contact.marketing_opt_out) are never sent a
survey: survey_recipients leaves them out in both modes (asking one contact per customer falls
back to the customer's next reachable contact), the preview counts agree with the send, and an
invitation waiting for its e-mail is not e-mailed once its contact has opted out."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from guanxi.customers import services as customer_services
from guanxi.feedback import services
from guanxi.feedback.models import SurveyInvitation
from guanxi.feedback.selectors import survey_recipients, survey_send_preview
from tests.conftest import Org
from tests.feedback.conftest import make_contact, make_customer, make_survey, send

pytestmark = pytest.mark.django_db


def opted_out(customer: Any, name: str, **fields: Any) -> Any:
    return make_contact(customer, name, marketing_opt_out=True, **fields)


def recipient_names(org: Org, mode: str) -> set[str]:
    return set(
        survey_recipients(actor=org.analyst, filters={}, mode=mode).values_list("name", flat=True)
    )


def test_one_contact_per_customer_skips_an_opted_out_decision_maker(org: Org) -> None:
    # given a customer whose decision maker opted out, with a reachable end user and someone
    # without a way to reach them
    customer = make_customer(org.rep, "华为技术有限公司")
    opted_out(customer, "决策人", decision_role="decision_maker", phones=["13800138000"])
    make_contact(customer, "无联系方式", decision_role="influencer")
    make_contact(customer, "使用人", decision_role="user", email="user@example.com")
    # and a customer whose only reachable contact opted out
    quiet = make_customer(org.rep, "拒收客户有限公司")
    opted_out(quiet, "拒收人", decision_role="decision_maker", email="no@example.com")
    survey = make_survey(org.analyst)
    # when / then: the end user answers for the first customer; nobody for the second
    assert recipient_names(org, "primary") == {"使用人"}
    preview = survey_send_preview(actor=org.analyst, survey=survey, filters={})
    assert (preview.customers, preview.contacts, preview.new) == (2, 1, 1)
    result = send(org.analyst, survey)
    assert result.invited == preview.new
    assert list(SurveyInvitation.objects.values_list("contact__name", flat=True)) == ["使用人"]


def test_every_reachable_contact_leaves_out_the_opted_out(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    make_contact(customer, "甲", phones=["13800138000"])
    opted_out(customer, "乙", email="b@example.com")
    make_contact(customer, "丙", email="c@example.com")
    survey = make_survey(org.analyst)
    assert recipient_names(org, "all") == {"甲", "丙"}
    preview = survey_send_preview(actor=org.analyst, survey=survey, filters={}, mode="all")
    assert (preview.customers, preview.contacts, preview.new) == (1, 2, 2)
    result = send(org.analyst, survey, recipients="all")
    assert result.invited == 2
    assert set(SurveyInvitation.objects.values_list("contact__name", flat=True)) == {"甲", "丙"}


def test_opting_back_in_makes_the_contact_a_recipient_again(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = opted_out(customer, "甲", phones=["13800138000"])
    assert recipient_names(org, "primary") == set()
    customer_services.contact_update(
        actor=org.rep, contact=contact, data={"marketing_opt_out": False}
    )
    assert recipient_names(org, "primary") == {"甲"} == recipient_names(org, "all")


def test_an_invitation_waiting_for_its_email_is_not_sent_after_an_opt_out(
    org: Org, settings: Any
) -> None:
    # given an invitation made for e-mail, whose e-mail job has not run yet (a queued job)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", email="li@example.com")
    survey = make_survey(org.analyst)
    result = send(org.analyst, survey, email=True)
    assert result.by_email == 1
    invitation = SurveyInvitation.objects.get()
    # when the person opts out before the job runs
    customer_services.contact_update(
        actor=org.rep, contact=contact, data={"marketing_opt_out": True}
    )
    # then the job sends nothing
    assert services.survey_invitations_email(invitation_ids=[invitation.pk]) == 0
    assert mail.outbox == []
    invitation.refresh_from_db()
    assert invitation.emailed_at is None
