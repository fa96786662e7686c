"""Feedback items: opening (the contract the service desk calls), who owns them, idempotency,
responding, closing, handing on, and who sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from freezegun import freeze_time

from guanxi.core.exceptions import ConflictError, PermissionDeniedError
from guanxi.feedback import services
from guanxi.feedback.models import FeedbackItem, FeedbackStatus
from guanxi.feedback.selectors import (
    feedback_item_list,
    feedback_item_visible_queryset,
    feedback_items_for_ticket,
)
from guanxi.notifications.models import Notification
from tests.conftest import Org
from tests.feedback.conftest import db_state, make_contact, make_customer, make_ticket

pytestmark = pytest.mark.django_db


def _open(org: Org, customer, **fields) -> FeedbackItem:
    fields.setdefault("source", "ticket_csat")
    fields.setdefault("summary", "T0001 设备故障")
    actor = fields.pop("actor", None)
    return services.feedback_item_open(actor=actor, customer=customer, **fields)


# --- opening ------------------------------------------------------------------------------------


def test_an_item_must_be_answered_within_24_hours_of_wall_clock_time(org: Org) -> None:
    # given a Saturday evening (a complaint waits on nobody's working calendar)
    customer = make_customer(org.rep, "华为技术有限公司")
    with freeze_time("2026-11-21 20:30:00+08:00"):
        # when
        item = _open(org, customer, score=1)
    # then
    assert item.status == FeedbackStatus.OPEN
    assert item.respond_by == dt.datetime(2026, 11, 22, 12, 30, tzinfo=dt.UTC)
    assert item.respond_by - item.created_at == dt.timedelta(hours=24)


def test_the_owner_is_the_one_given_else_the_assignee_else_the_customers_owner(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    pool = make_customer(None, "公海客户有限公司")
    ticket = make_ticket(customer, assignee=org.agent)
    other_ticket = make_ticket(customer, assignee=None)

    assert _open(org, customer, owner=org.manager, summary="a").owner == org.manager
    assert _open(org, customer, ticket=ticket).owner == org.agent
    assert _open(org, customer, ticket=other_ticket).owner == org.rep
    assert _open(org, customer, source="other", actor=org.agent, summary="b").owner == org.rep
    unassigned = _open(org, pool, source="staff", actor=org.agent, summary="c")
    assert unassigned.owner is None
    # a deactivated owner passed in cannot answer: the next in line does
    org.manager.is_active = False
    assert _open(org, customer, owner=org.manager, summary="d").owner == org.rep


def test_the_owner_is_notified_once_with_the_deadline_and_masked_personal_data(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    ticket = make_ticket(customer, assignee=org.agent)
    # when
    item = _open(org, customer, ticket=ticket, summary="客户 13800138000 投诉", score=2)
    # then
    notification = Notification.objects.get(recipient=org.agent)
    assert notification.kind == "feedback_opened"
    assert notification.url == f"/feedback/items/{item.pk}/"
    assert notification.params["customer"] == "华为技术有限公司"
    assert "13800138000" not in notification.params["summary"]
    assert "****" in notification.params["summary"]
    assert not Notification.objects.exclude(recipient=org.agent).exists()


def test_staff_recording_their_own_customers_feedback_are_not_notified_of_it(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = services.feedback_item_open(
        actor=org.rep, customer=customer, source="staff", summary="电话里抱怨交付慢"
    )
    assert item.owner == org.rep
    assert item.created_by == org.rep
    assert not Notification.objects.exists()


def test_the_same_low_score_twice_opens_one_item(org: Org) -> None:
    # given a ticket scored low once
    customer = make_customer(org.rep, "华为技术有限公司")
    ticket = make_ticket(customer, assignee=org.agent)
    first = _open(org, customer, ticket=ticket, score=1)
    before = db_state()
    # when the same report comes again (a retried confirmation)
    second = _open(org, customer, ticket=ticket, score=1, comment="again")
    # then nothing changed
    assert second.pk == first.pk
    assert db_state() == before


def test_a_ticket_scored_low_again_after_its_item_was_closed_opens_a_new_one(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    ticket = make_ticket(customer, assignee=org.agent)
    first = _open(org, customer, ticket=ticket, score=1)
    first = services.feedback_item_respond(
        actor=org.agent,
        item=first,
        response="已致电道歉",
        improvement_action="增加出厂检测",
        improvement_due=timezone.localdate() + dt.timedelta(days=30),
        version=first.version,
    )
    services.feedback_item_close(actor=org.agent, item=first, version=first.version)
    # when
    second = _open(org, customer, ticket=ticket, score=2)
    # then
    assert second.pk != first.pk
    assert FeedbackItem.objects.filter(ticket=ticket).count() == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"summary": ""}, "summary"),
        ({"summary": "x" * 201}, "summary"),
        ({"score": 11}, "score"),
        ({"score": -1}, "score"),
        ({"source": "rumour"}, "source"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(org: Org, fields, field) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        _open(org, customer, **fields)
    assert field in raised.value.message_dict
    assert db_state() == before


def test_a_contact_or_ticket_of_another_customer_is_refused(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    other = make_customer(org.rep, "腾讯科技有限公司")
    contact = make_contact(other, "李四")
    ticket = make_ticket(other)
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        _open(org, customer, contact=contact, ticket=ticket)
    assert set(raised.value.message_dict) == {"contact", "ticket"}
    assert db_state() == before


@pytest.mark.parametrize("who", ["analyst", "handler", "other_rep"])
def test_staff_entries_need_the_right_to_record(org: Org, who: str) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        services.feedback_item_open(
            actor=getattr(org, who), customer=customer, source="staff", summary="抱怨"
        )
    assert db_state() == before


# --- responding and closing ---------------------------------------------------------------------


def test_responding_stops_the_clock_and_a_correction_keeps_the_first_time(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    with freeze_time("2026-11-20 09:00:00+08:00"):
        item = _open(org, customer, score=1)
    with freeze_time("2026-11-20 15:00:00+08:00"):
        item = services.feedback_item_respond(
            actor=org.rep, item=item, response="已致电客户", version=item.version
        )
    with freeze_time("2026-11-21 10:00:00+08:00"):
        corrected = services.feedback_item_respond(
            actor=org.agent, item=item, response="已上门致歉", version=item.version
        )
    assert corrected.status == FeedbackStatus.RESPONDED
    assert corrected.response == "已上门致歉"
    assert corrected.responded_at == dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC)
    assert corrected.responded_by == org.rep


def test_a_stale_version_is_a_conflict_and_writes_nothing(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _open(org, customer, score=1)
    services.feedback_item_respond(actor=org.rep, item=item, response="一", version=item.version)
    before = db_state()
    with pytest.raises(ConflictError):
        services.feedback_item_respond(
            actor=org.agent, item=item, response="二", version=item.version
        )
    assert db_state() == before


@pytest.mark.parametrize(
    ("action", "due", "field"),
    [
        ("增加出厂检测", None, "improvement_due"),
        ("", "+10", "improvement_action"),
        ("增加出厂检测", "-1", "improvement_due"),
    ],
)
def test_an_improvement_action_comes_with_a_due_date_from_today(
    org: Org, action: str, due: str | None, field: str
) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _open(org, customer, score=1)
    day = timezone.localdate() + dt.timedelta(days=int(due)) if due else None
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.feedback_item_respond(
            actor=org.rep,
            item=item,
            response="已回复",
            improvement_action=action,
            improvement_due=day,
            version=item.version,
        )
    assert field in raised.value.message_dict
    assert db_state() == before


def test_closing_needs_a_response_and_an_improvement_action(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _open(org, customer, score=1)
    with pytest.raises(services.FeedbackNotRespondedError):
        services.feedback_item_close(actor=org.rep, item=item, version=item.version)
    item = services.feedback_item_respond(
        actor=org.rep, item=item, response="已回复", version=item.version
    )
    with pytest.raises(ValidationError) as raised:
        services.feedback_item_close(actor=org.rep, item=item, version=item.version)
    assert "improvement_action" in raised.value.message_dict
    # when the action is given at closing
    due = timezone.localdate() + dt.timedelta(days=14)
    closed = services.feedback_item_close(
        actor=org.rep,
        item=item,
        version=item.version,
        improvement_action="物流改用顺丰",
        improvement_due=due,
    )
    # then
    assert closed.status == FeedbackStatus.CLOSED
    assert closed.closed_by == org.rep
    assert (closed.improvement_action, closed.improvement_due) == ("物流改用顺丰", due)
    with pytest.raises(services.FeedbackClosedError):
        services.feedback_item_respond(
            actor=org.rep, item=closed, response="再说一次", version=closed.version
        )


def test_an_action_recorded_earlier_closes_the_item_even_after_its_due_date(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    with freeze_time("2026-10-01 09:00:00+08:00"):
        item = _open(org, customer, score=1)
        item = services.feedback_item_respond(
            actor=org.rep,
            item=item,
            response="已回复",
            improvement_action="培训客服",
            improvement_due=dt.date(2026, 10, 15),
            version=item.version,
        )
    with freeze_time("2026-11-01 09:00:00+08:00"):
        closed = services.feedback_item_close(actor=org.rep, item=item, version=item.version)
    assert closed.status == FeedbackStatus.CLOSED
    assert closed.improvement_due == dt.date(2026, 10, 15)


@pytest.mark.parametrize("who", ["analyst", "handler", "kam"])
def test_who_may_not_answer_changes_nothing(org: Org, who: str) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _open(org, customer, score=1)
    before = db_state()
    with pytest.raises(PermissionDeniedError):
        services.feedback_item_respond(
            actor=getattr(org, who), item=item, response="x", version=item.version
        )
    assert db_state() == before


def test_handing_on_needs_a_colleague_who_sees_the_customer(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    item = _open(org, customer, score=1)
    before = db_state()
    with pytest.raises(ValidationError) as raised:
        services.feedback_item_assign(
            actor=org.manager, item=item, owner=org.other_rep, version=item.version
        )
    assert "owner" in raised.value.message_dict
    assert db_state() == before
    # when handed to the manager's rep's colleague who sees it (the manager himself)
    Notification.objects.all().delete()
    moved = services.feedback_item_assign(
        actor=org.rep, item=item, owner=org.manager, version=item.version
    )
    assert moved.owner == org.manager
    assert Notification.objects.get().kind == "feedback_assigned"


# --- who sees them ------------------------------------------------------------------------------


def test_items_follow_the_customer_the_ticket_and_the_owner(org: Org) -> None:
    mine = make_customer(org.rep, "华为技术有限公司")
    theirs = make_customer(org.other_rep, "腾讯科技有限公司")
    on_mine = _open(org, mine, summary="mine")
    on_theirs = _open(org, theirs, summary="theirs")
    # a ticket of the other rep's customer, assigned to the department handler
    ticket = make_ticket(theirs, assignee=org.handler)
    on_ticket = _open(org, theirs, ticket=ticket, summary="ticket")
    # an item of the other rep's customer owned by the outsider
    owned = _open(org, theirs, owner=org.outsider, summary="owned")

    def seen(user) -> set[int]:
        return set(feedback_item_visible_queryset(actor=user).values_list("pk", flat=True))

    everything = {on_mine.pk, on_theirs.pk, on_ticket.pk, owned.pk}
    assert seen(org.rep) == {on_mine.pk}
    assert seen(org.other_rep) == {on_theirs.pk, on_ticket.pk, owned.pk}
    assert on_ticket.pk in seen(org.handler)
    assert on_mine.pk not in seen(org.handler)
    assert seen(org.outsider) == {owned.pk}
    assert seen(org.manager) == everything
    assert seen(org.admin) == everything
    assert feedback_items_for_ticket(actor=org.handler, ticket=ticket) == [on_ticket]
    assert feedback_items_for_ticket(actor=org.rep, ticket=ticket) == []


def test_the_list_filters_by_status_overdue_source_and_owner(org: Org) -> None:
    customer = make_customer(org.rep, "华为技术有限公司")
    pool = make_customer(None, "公海客户有限公司")
    with freeze_time("2026-11-01 09:00:00+08:00"):
        late = _open(org, customer, summary="late")
    fresh = _open(org, customer, summary="fresh", source="survey")
    unassigned = _open(org, pool, summary="pool")
    answered = services.feedback_item_respond(
        actor=org.rep, item=fresh, response="好", version=fresh.version
    )

    def pks(**filters) -> set[int]:
        return set(feedback_item_list(actor=org.admin, **filters).values_list("pk", flat=True))

    assert pks(overdue=True) == {late.pk}
    assert pks(status="responded") == {answered.pk}
    assert pks(status="active") == {late.pk, answered.pk, unassigned.pk}
    assert pks(source="survey") == {answered.pk}
    assert pks(owner="none") == {unassigned.pk}
    assert pks(owner=org.rep.pk) == {late.pk, answered.pk}
