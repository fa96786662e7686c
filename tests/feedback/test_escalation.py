"""The scheduled escalation of feedback items left unanswered for 24 hours, on a frozen clock."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from guanxi.accounts.models import User
from guanxi.core.models import AuditEntry
from guanxi.feedback import services
from guanxi.feedback.models import FeedbackItem
from guanxi.feedback.tasks import feedback_items_escalate_task
from guanxi.notifications.models import Notification
from tests.conftest import Org
from tests.feedback.conftest import make_customer

pytestmark = pytest.mark.django_db


def _item(org: Org, owner: User) -> FeedbackItem:
    customer = make_customer(org.rep, "华为技术有限公司")
    with freeze_time("2026-11-20 09:00:00+08:00"):
        return services.feedback_item_open(
            actor=None,
            customer=customer,
            source="ticket_csat",
            summary="T0001 设备故障",
            score=1,
            owner=owner,
        )


def _escalations(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="feedback_escalated"))


def test_an_item_unanswered_after_24_hours_goes_to_the_owners_manager_once(org: Org) -> None:
    # given the rep's manager is the sales manager
    User.objects.filter(pk=org.rep.pk).update(manager=org.manager)
    item = _item(org, org.rep)
    # when the job runs a minute before the deadline
    with freeze_time("2026-11-21 08:59:00+08:00"):
        assert feedback_items_escalate_task.call() == 0
    # then nothing happened
    assert _escalations(org.manager) == []
    # when it runs after the deadline, and again a quarter of an hour later
    with freeze_time("2026-11-21 09:01:00+08:00"):
        assert feedback_items_escalate_task.call() == 1
    with freeze_time("2026-11-21 09:16:00+08:00"):
        assert feedback_items_escalate_task.call() == 0
    # then the manager heard once, and the item says so
    (notification,) = _escalations(org.manager)
    assert notification.url == f"/feedback/items/{item.pk}/"
    assert notification.params["owner"] == org.rep.get_full_name()
    item.refresh_from_db()
    assert item.escalated_to == org.manager
    assert item.escalated_at.isoformat() == "2026-11-21T01:01:00+00:00"
    assert (
        AuditEntry.objects.filter(
            object_type="feedback.feedbackitem", object_id=str(item.pk), note="feedback_escalated"
        ).count()
        == 1
    )


def test_a_manager_who_cannot_see_the_customer_is_not_told(org: Org) -> None:
    # given the rep's manager is set to a rep of another branch
    User.objects.filter(pk=org.rep.pk).update(manager=org.outsider)
    item = _item(org, org.rep)
    with freeze_time("2026-11-22 09:00:00+08:00"):
        assert services.feedback_items_escalate() == 1
    # then the item is marked escalated (once) without anyone told
    item.refresh_from_db()
    assert item.escalated_at is not None
    assert item.escalated_to is None
    assert _escalations(org.outsider) == []


def test_an_answered_item_or_one_without_owner_reaches_no_manager(org: Org) -> None:
    User.objects.filter(pk=org.rep.pk).update(manager=org.manager)
    answered = _item(org, org.rep)
    with freeze_time("2026-11-20 10:00:00+08:00"):
        services.feedback_item_respond(
            actor=org.rep, item=answered, response="已回复", version=answered.version
        )
    pool = make_customer(None, "公海客户有限公司")
    with freeze_time("2026-11-20 09:00:00+08:00"):
        unowned = services.feedback_item_open(
            actor=org.agent, customer=pool, source="staff", summary="电话投诉"
        )
    with freeze_time("2026-11-23 09:00:00+08:00"):
        assert services.feedback_items_escalate() == 1
    answered.refresh_from_db()
    unowned.refresh_from_db()
    assert answered.escalated_at is None
    assert unowned.escalated_at is not None and unowned.escalated_to is None
    assert not Notification.objects.filter(kind="feedback_escalated").exists()
