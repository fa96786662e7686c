"""The notify contract other apps rely on."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils.translation import gettext_noop, override

from guanxi.notifications.kinds import notification_kind_get, notification_kind_register
from guanxi.notifications.models import Delivery, Notification
from guanxi.notifications.selectors import notification_list, notification_unread_count
from guanxi.notifications.services import notification_preference_set, notify
from tests.notifications.conftest import make_robot

pytestmark = pytest.mark.django_db

MESSAGE = gettext_noop("%(name)s was moved to the recycle bin.")  # in the catalogue


def test_the_row_is_language_neutral_and_renders_in_each_language(org):
    # when
    (notification,) = notify(
        recipients=[org.rep], kind="test_due", message=MESSAGE, params={"name": "华为"}
    )
    # then the row keeps the English msgid and the values, not a rendered text
    notification.refresh_from_db()
    assert notification.message == "%(name)s was moved to the recycle bin."
    assert notification.params == {"name": "华为"}
    assert notification.text("en") == "华为 was moved to the recycle bin."
    assert notification.text("zh-hans") == "华为 已移入回收站。"
    with override("en"):
        assert notification.text() == "华为 was moved to the recycle bin."


def test_the_recipients_language_decides_deliveries(org):
    from guanxi.notifications.models import user_language

    org.rep.language = "en"
    assert user_language(org.rep) == "en"
    org.rep.language = ""
    assert user_language(org.rep) == "zh-hans"  # settings.LANGUAGE_CODE


def test_dedupe_key_notifies_a_recipient_once_and_each_recipient_once(org):
    for _ in range(3):
        notify(
            recipients=[org.rep],
            kind="test_due",
            message=MESSAGE,
            params={"name": "a"},
            dedupe_key="followup:1:overdue",
        )
    created = notify(
        recipients=[org.rep, org.other_rep],
        kind="test_due",
        message=MESSAGE,
        params={"name": "a"},
        dedupe_key="followup:1:overdue",
    )
    assert [n.recipient for n in created] == [org.other_rep]
    assert Notification.objects.filter(recipient=org.rep).count() == 1
    assert Notification.objects.filter(recipient=org.other_rep).count() == 1


def test_without_dedupe_key_every_call_notifies(org):
    notify(recipients=[org.rep], kind="test_due", message=MESSAGE, params={"name": "a"})
    notify(recipients=[org.rep], kind="test_due", message=MESSAGE, params={"name": "a"})
    assert Notification.objects.filter(recipient=org.rep).count() == 2


def test_the_database_refuses_a_duplicate_dedupe_key(org):
    notify(
        recipients=[org.rep], kind="test_due", message=MESSAGE, params={"name": "a"}, dedupe_key="k"
    )
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=org.rep, kind="test_due", message="x", dedupe_key="k")


def test_inactive_and_repeated_recipients(org):
    org.other_rep.is_active = False
    org.other_rep.save()
    created = notify(
        recipients=[org.rep, org.rep, org.other_rep, None],
        kind="test_due",
        message=MESSAGE,
        params={"name": "a"},
        actor=org.manager,
    )
    assert [n.recipient for n in created] == [org.rep]
    assert created[0].actor == org.manager


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "no_such_kind"}, "not registered"),
        ({"params": {"other": 1}}, "do not match"),
        ({"params": {"name": ["list"]}}, "string or a number"),
        ({"url": "https://evil.example.com/"}, "site-relative"),
        ({"url": "//evil.example.com/"}, "site-relative"),
        ({"message": ""}, "message"),
    ],
)
def test_programming_errors_fail_loudly_and_write_nothing(org, kwargs, error):
    arguments = {
        "recipients": [org.rep],
        "kind": "test_due",
        "message": MESSAGE,
        "params": {"name": "a"},
        **kwargs,
    }
    with pytest.raises(ValueError, match=error):
        notify(**arguments)
    assert not Notification.objects.exists()


def test_kind_registration_validates_the_name_and_keeps_defaults():
    registered = notification_kind_register("test_other", "Other", email=True)
    assert notification_kind_get("test_other") is registered
    assert (registered.in_app, registered.email, registered.robot) == (True, True, False)
    with pytest.raises(ValueError):
        notification_kind_register("bad kind!", "Bad")


def test_default_channels_in_app_always_email_for_escalations(org):
    notify(recipients=[org.rep], kind="test_due", message=MESSAGE, params={"name": "a"})
    assert not Delivery.objects.exists()
    (escalated,) = notify(
        recipients=[org.rep], kind="test_escalated", message=MESSAGE, params={"name": "a"}
    )
    assert list(Delivery.objects.values_list("notification", "channel")) == [
        (escalated.pk, "email")
    ]


def test_preferences_choose_the_channels(org):
    robot = make_robot(org.rep)
    notification_preference_set(
        actor=org.rep, user=org.rep, kind="test_due", in_app=False, email=True, robot=True
    )
    (notification,) = notify(
        recipients=[org.rep], kind="test_due", message=MESSAGE, params={"name": "a"}
    )
    assert set(Delivery.objects.values_list("channel", "robot")) == {
        ("email", None),
        ("robot", robot.pk),
    }
    # the bell is off for this kind: the row exists (dedupe, deliveries) but is not shown
    assert not notification.in_app
    assert list(notification_list(actor=org.rep)) == []
    assert notification_unread_count(actor=org.rep) == 0


def test_no_email_delivery_without_an_address(org):
    type(org.rep).objects.filter(pk=org.rep.pk).update(email="")
    org.rep.refresh_from_db()
    notify(recipients=[org.rep], kind="test_escalated", message=MESSAGE, params={"name": "a"})
    assert not Delivery.objects.exists()


def test_jobs_are_enqueued_only_when_the_transaction_commits(
    org, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    # a rolled-back caller leaves neither rows nor jobs
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(recipients=[org.rep], kind="test_escalated", message=MESSAGE, params={"name": "a"})
        raise RuntimeError("caller failed")
    assert not Notification.objects.exists()
    assert not DBTaskResult.objects.exists()
    # a committed one enqueues one job per delivery
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipients=[org.rep], kind="test_escalated", message=MESSAGE, params={"name": "a"})
        assert not DBTaskResult.objects.exists()
    assert DBTaskResult.objects.count() == 1
