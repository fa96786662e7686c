"""Permission matrix of every feedback page: anonymous, each of the seven roles and an outsider.

The records: a customer of the rep (华东组) with a contact, two tickets of it assigned to the
department handler (客服中心), a feedback item open on the first (the handler's) and one
responded on the second, a draft survey and a survey sent to the customer. Items follow their
customer and ticket (404 outside both, 403 where visible but not theirs to answer); surveys are
read by everyone and kept by administrators, analysts, managers and service agents. A denied
request changes nothing; an allowed write changes something.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from guanxi.feedback import services
from tests.conftest import Org, login_client
from tests.feedback.conftest import (
    db_state,
    make_contact,
    make_customer,
    make_survey,
    make_ticket,
    send,
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
]
ROLES = ACTORS[1:]


@dataclass
class Records:
    customer: Any
    contact: Any
    item: Any  # open, on a ticket assigned to the handler
    responded: Any  # responded with its improvement action, on another such ticket
    draft: Any
    sent: Any


def _records(org: Org) -> Records:
    customer = make_customer(org.rep, "华为技术有限公司")
    contact = make_contact(customer, "李四", phones=["13800138000"])
    item = services.feedback_item_open(
        actor=None,
        customer=customer,
        source="ticket_csat",
        summary="T1 设备故障",
        score=1,
        ticket=make_ticket(customer, assignee=org.handler),
    )
    responded = services.feedback_item_open(
        actor=None,
        customer=customer,
        source="ticket_csat",
        summary="T2 物流延迟",
        score=2,
        ticket=make_ticket(customer, assignee=org.handler),
    )
    responded = services.feedback_item_respond(
        actor=org.handler,
        item=responded,
        response="已致歉",
        improvement_action="换物流商",
        improvement_due=timezone.localdate() + dt.timedelta(days=30),
        version=responded.version,
    )
    draft = make_survey(org.analyst, title="草稿调查")
    sent = make_survey(org.analyst, title="已发送调查")
    send(org.analyst, sent)
    sent.refresh_from_db()
    return Records(
        customer=customer, contact=contact, item=item, responded=responded, draft=draft, sent=sent
    )


def _sees_customer(user: Any, customer: Any) -> bool:
    from guanxi.customers.selectors import customer_visible_queryset

    return customer_visible_queryset(actor=user).filter(pk=customer.pk).exists()


def _user(org: Org, key: str) -> Any:
    return org.outsider if key == "outsider" else org.by_role()[key]


def _client(org: Org, key: str) -> Client:
    return Client() if key == "anonymous" else login_client(_user(org, key))


@dataclass
class Case:
    name: str
    method: str
    path: Callable[[Records], str]
    data: Callable[[Records, Org, str], dict[str, Any]] | None
    expected: dict[str, int]
    writes: bool | frozenset[str]


EVERYONE_200 = dict.fromkeys(ROLES, 200)
ITEM_READ = {
    "administrator": 200,
    "sales_manager": 200,
    "sales_rep": 200,
    "service_agent": 200,
    "department_handler": 200,
    "analyst": 200,
    "key_account_manager": 404,
    "outsider": 404,
}


def _item_write(ok: int) -> dict[str, int]:
    return {**{key: ok if code == 200 else code for key, code in ITEM_READ.items()}, "analyst": 403}


CUSTOMER_RECORD = {
    "administrator": 200,
    "sales_manager": 200,
    "sales_rep": 200,
    "analyst": 403,
    "key_account_manager": 404,
    "service_agent": 404,
    "department_handler": 404,
    "outsider": 404,
}
SURVEY_MANAGERS = ("administrator", "sales_manager", "service_agent", "analyst")


def _survey_write(ok: int) -> dict[str, int]:
    return {key: ok if key in SURVEY_MANAGERS else 403 for key in ROLES}


# Sending reaches the customers in the sender's scope (the agent's: see the test).
SENDERS_WITH_REACH = frozenset({"administrator", "sales_manager", "analyst"})


def _respond(r: Records, o: Org, key: str) -> dict[str, Any]:
    return {"version": r.item.version, "response": "已电话致歉并补发配件"}


def _close(r: Records, o: Org, key: str) -> dict[str, Any]:
    return {"version": r.responded.version}


def _assign(r: Records, o: Org, key: str) -> dict[str, Any]:
    # to oneself: the one colleague everybody may name (the handler owns it already: 400)
    return {"version": r.item.version, "owner": _user(o, key).pk if key != "anonymous" else 0}


def _item_new(r: Records, o: Org, key: str) -> dict[str, Any]:
    return {"source": "staff", "contact": r.contact.pk, "summary": "电话里抱怨交付慢"}


def _survey_new(r: Records, o: Org, key: str) -> dict[str, Any]:
    return {
        "title": "服务满意度",
        "kind": "csat",
        "negative_score_max": 2,
        "negative_nps_max": 6,
        "rows": 1,
        "q-0-text": "总体满意度",
        "q-0-type": "score",
        "q-0-dimension": "overall",
        "q-0-required": "on",
    }


def _survey_edit(r: Records, o: Org, key: str) -> dict[str, Any]:
    return {**_survey_new(r, o, key), "version": r.draft.version, "title": "草稿调查（改）"}


def _send(confirm: bool) -> Callable[[Records, Org, str], dict[str, Any]]:
    def data(r: Records, o: Org, key: str) -> dict[str, Any]:
        values = {"recipients": "primary", "expires_days": 14}
        return {**values, "confirm": "1"} if confirm else values

    return data


CASES = [
    Case("item-list", "GET", lambda r: "/feedback/", None, EVERYONE_200, False),
    Case(
        "item-list-filtered",
        "GET",
        lambda r: "/feedback/?status=all&overdue=on&source=ticket_csat&owner=none",
        None,
        EVERYONE_200,
        False,
    ),
    Case("item-detail", "GET", lambda r: f"/feedback/items/{r.item.pk}/", None, ITEM_READ, False),
    Case(
        "item-respond",
        "POST",
        lambda r: f"/feedback/items/{r.item.pk}/respond/",
        _respond,
        _item_write(302),
        True,
    ),
    Case(
        "item-close",
        "POST",
        lambda r: f"/feedback/items/{r.responded.pk}/close/",
        _close,
        _item_write(302),
        True,
    ),
    Case(
        "item-assign",
        "POST",
        lambda r: f"/feedback/items/{r.item.pk}/assign/",
        _assign,
        {**_item_write(302), "department_handler": 400},
        True,
    ),
    Case(
        "item-create-get",
        "GET",
        lambda r: f"/feedback/customers/{r.customer.pk}/new/",
        None,
        CUSTOMER_RECORD,
        False,
    ),
    Case(
        "item-create",
        "POST",
        lambda r: f"/feedback/customers/{r.customer.pk}/new/",
        _item_new,
        {key: 302 if code == 200 else code for key, code in CUSTOMER_RECORD.items()},
        True,
    ),
    Case("survey-list", "GET", lambda r: "/feedback/surveys/", None, EVERYONE_200, False),
    Case(
        "survey-create-get",
        "GET",
        lambda r: "/feedback/surveys/new/?kind=nps",
        None,
        _survey_write(200),
        False,
    ),
    Case(
        "survey-create",
        "POST",
        lambda r: "/feedback/surveys/new/",
        _survey_new,
        _survey_write(302),
        True,
    ),
    Case(
        "survey-detail",
        "GET",
        lambda r: f"/feedback/surveys/{r.sent.pk}/",
        None,
        EVERYONE_200,
        False,
    ),
    Case(
        "survey-edit-get",
        "GET",
        lambda r: f"/feedback/surveys/{r.draft.pk}/edit/",
        None,
        _survey_write(200),
        False,
    ),
    Case(
        "survey-edit",
        "POST",
        lambda r: f"/feedback/surveys/{r.draft.pk}/edit/",
        _survey_edit,
        _survey_write(302),
        True,
    ),
    Case(
        "survey-send-get",
        "GET",
        lambda r: f"/feedback/surveys/{r.draft.pk}/send/",
        None,
        _survey_write(200),
        False,
    ),
    Case(
        "survey-send-preview",
        "POST",
        lambda r: f"/feedback/surveys/{r.draft.pk}/send/",
        _send(confirm=False),
        _survey_write(200),
        False,
    ),
    Case(
        "survey-send",
        "POST",
        lambda r: f"/feedback/surveys/{r.draft.pk}/send/",
        _send(confirm=True),
        _survey_write(200),
        SENDERS_WITH_REACH,
    ),
    Case(
        "survey-links-get",
        "GET",
        lambda r: f"/feedback/surveys/{r.sent.pk}/links/",
        None,
        _survey_write(200),
        False,
    ),
    Case(
        "survey-links",
        "POST",
        lambda r: f"/feedback/surveys/{r.sent.pk}/links/",
        lambda r, o, k: {"confirm": "1"},
        _survey_write(200),
        SENDERS_WITH_REACH,
    ),
    Case(
        "survey-close",
        "POST",
        lambda r: f"/feedback/surveys/{r.sent.pk}/close/",
        lambda r, o, k: {"version": r.sent.version},
        _survey_write(302),
        True,
    ),
    Case(
        "survey-delete",
        "POST",
        lambda r: f"/feedback/surveys/{r.draft.pk}/delete/",
        lambda r, o, k: {},
        _survey_write(302),
        True,
    ),
    Case(
        "survey-results",
        "GET",
        lambda r: f"/feedback/surveys/{r.sent.pk}/results/",
        None,
        EVERYONE_200,
        False,
    ),
    Case(
        "analysis",
        "GET",
        lambda r: "/feedback/analysis/?date_from=2026-01-01&date_to=2026-12-31",
        None,
        EVERYONE_200,
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("actor", ACTORS)
def test_feedback_page_permissions(org: Org, case: Case, actor: str) -> None:
    # given
    records = _records(org)
    client = _client(org, actor)
    path = case.path(records)
    data = case.data(records, org, actor) if case.data else None
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
    writes = case.writes if isinstance(case.writes, bool) else actor in case.writes
    if actor == "service_agent" and _sees_customer(org.agent, records.customer):
        # The service desk's data scope is a setting (accounts.roles): with "all", the agent
        # records feedback on the customer and reaches it when sending.
        expected = {404: 200 if case.method == "GET" else 302}.get(expected, expected)
        writes = writes or case.name in {"survey-send", "survey-links"}
    assert response.status_code == expected, (case.name, actor, getattr(response, "context", None))
    if expected >= 400 or not writes:
        assert db_state() == before
    else:
        assert db_state() != before


def test_the_public_answer_page_needs_no_sign_in(org: Org) -> None:
    records = _records(org)
    assert records.sent.invitations.count() == 1
    # an unknown link is a 404 for anyone, signed in or not
    assert Client().get("/feedback/s/unknown/").status_code == 404
    assert login_client(org.admin).get("/feedback/s/unknown/").status_code == 404
