"""Delivery over real HTTP to a local server standing in for the providers: signatures as
received, retries with backoff, the per-robot rate limit, and e-mail through Django's backend."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import socket

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks_db.models import DBTaskResult

from guanxi.notifications.models import Delivery
from guanxi.notifications.services import (
    deliveries_due_enqueue,
    delivery_send,
    notification_preference_set,
    notify,
)
from tests.notifications.conftest import make_robot

pytestmark = pytest.mark.django_db

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
# Deliveries are due from their creation (the real clock): the frozen clock runs ahead of it. A
# day ahead, not minutes: this is evaluated when the module is imported, and in the whole suite
# the tests run long after that (five minutes ahead failed every send once the suite had run
# that long).
T0 = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=123000)
IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _robot_route(user, kind="test_due"):
    notification_preference_set(
        actor=user, user=user, kind=kind, in_app=True, email=False, robot=True
    )


def _notify(user, n=1, kind="test_due"):
    return notify(
        recipients=[user],
        kind=kind,
        message=gettext_noop("Follow-up with %(customer)s is overdue."),
        params={"customer": f"华为{n}"},
        url="/customers/1/",
    )


def _only_delivery(notification):
    return Delivery.objects.get(notification=notification)


def test_dingtalk_signed_delivery_reaches_the_server_with_a_valid_signature(org, provider):
    # given a rep with a signed DingTalk robot routed for the kind
    robot = make_robot(
        org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789", secret=SECRET
    )
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    delivery = _only_delivery(notification)
    assert delivery.robot_id == robot.pk
    # when the job runs
    assert delivery_send(delivery_id=delivery.pk, now=T0) == "sent"
    # then DingTalk would accept it: timestamp in ms and the sign computed from the secret
    (request,) = provider.received
    assert request.path == "/robot/send"
    assert request.query["access_token"] == ["tok0123456789"]
    timestamp = request.query["timestamp"][0]
    assert timestamp == str(int(T0.timestamp() * 1000))
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == [expected]
    assert request.body["msgtype"] == "markdown"
    # the recipient reads Chinese (the default language): the kind label is translated
    assert "华为1" in request.body["markdown"]["text"]
    assert request.headers["Content-Type"].startswith("application/json")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("sent", 1, T0)


def test_feishu_signed_delivery_carries_a_valid_signature_in_the_body(org, provider):
    provider.default = (200, {"code": 0, "msg": "success", "data": {}})
    org.rep.language = "en"
    org.rep.save()
    make_robot(
        org.rep,
        provider="feishu",
        url=f"{provider.base}/open-apis/bot/v2/hook/abcdef0123456789",
        secret="feishu-secret",
    )
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    assert delivery_send(delivery_id=_only_delivery(notification).pk, now=T0) == "sent"
    (request,) = provider.received
    body = request.body
    assert body["timestamp"] == str(int(T0.timestamp()))
    key = f"{body['timestamp']}\nfeishu-secret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    post = body["content"]["post"]["en_us"]
    assert post["title"] == "Test due"
    assert post["content"][0][0]["text"] == "Follow-up with 华为1 is overdue."
    assert post["content"][1][0]["href"] == "http://127.0.0.1:8000/customers/1/"


def test_wecom_delivery_posts_markdown(org, provider):
    make_robot(
        org.rep,
        provider="wecom",
        url=f"{provider.base}/cgi-bin/webhook/send?key=693a91f6-0000-4bc4-97a0-0ec2sifa5aaa",
    )
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    assert delivery_send(delivery_id=_only_delivery(notification).pk, now=T0) == "sent"
    (request,) = provider.received
    assert request.query["key"] == ["693a91f6-0000-4bc4-97a0-0ec2sifa5aaa"]
    assert set(request.body) == {"msgtype", "markdown"}
    assert "华为1" in request.body["markdown"]["content"]


def test_failure_then_retry_with_backoff_then_success(org, provider, settings):
    settings.GUANXI_NOTIFY_RETRY_BASE_SECONDS = 60
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    delivery = _only_delivery(notification)
    provider.answer(500, {"error": "busy"})
    provider.answer(200, {"errcode": 310000, "errmsg": "keywords not in content"})
    # first attempt: a server error, retried after the base wait
    assert delivery_send(delivery_id=delivery.pk, now=T0) == "pending"
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=60)
    assert delivery.last_error == "HTTP 500"
    # not due yet: nothing is sent
    assert delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(seconds=30)) == "pending"
    assert len(provider.received) == 1
    # second attempt: the provider refuses (errcode), the wait doubles
    assert delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(seconds=61)) == "pending"
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == T0 + dt.timedelta(seconds=61 + 120)
    assert "310000" in delivery.last_error
    # third attempt succeeds
    assert delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(seconds=200)) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    assert len(provider.received) == 3
    # and a late duplicate job changes nothing
    assert delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(hours=1)) == "sent"
    assert len(provider.received) == 3


def test_gives_up_after_the_maximum_attempts(org, provider, settings):
    settings.GUANXI_NOTIFY_MAX_ATTEMPTS = 2
    provider.default = (502, {})
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    delivery = _only_delivery(notification)
    assert delivery_send(delivery_id=delivery.pk, now=T0) == "pending"
    assert delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(hours=1)) == "failed"
    assert delivery_send(delivery_id=delivery.pk, now=T0 + dt.timedelta(hours=2)) == "failed"
    assert len(provider.received) == 2


def test_unreachable_server_is_retried(org, provider):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    make_robot(org.rep, url=f"http://127.0.0.1:{port}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    delivery = _only_delivery(notification)
    assert delivery_send(delivery_id=delivery.pk, now=T0) == "pending"
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("connection failed")


def test_redirects_are_not_followed(org, provider):
    # a redirect could lead the request into the internal network
    provider.answer(302, "http://169.254.169.254/latest/meta-data")
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    assert delivery_send(delivery_id=_only_delivery(notification).pk, now=T0) == "failed"
    assert len(provider.received) == 1


def test_url_no_longer_allowed_fails_without_a_request(org, provider, settings):
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    (notification,) = _notify(org.rep)
    settings.GUANXI_ROBOT_EXTRA_HOSTS = []
    assert delivery_send(delivery_id=_only_delivery(notification).pk, now=T0) == "failed"
    assert provider.received == []


def test_rate_limit_defers_the_21st_message_of_a_minute_and_sends_it_later(org, provider):
    # given 21 notifications for one DingTalk robot (20 messages a minute)
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    notifications = [_notify(org.rep, n)[0] for n in range(21)]
    deliveries = [_only_delivery(n) for n in notifications]
    # when all are attempted within one minute
    statuses = [
        delivery_send(delivery_id=d.pk, now=T0 + dt.timedelta(milliseconds=10 * i))
        for i, d in enumerate(deliveries)
    ]
    # then twenty went out and the last is deferred, not dropped, without using an attempt
    assert statuses == ["sent"] * 20 + ["pending"]
    assert len(provider.received) == 20
    last = deliveries[-1]
    last.refresh_from_db()
    assert last.attempts == 0
    assert last.next_attempt_at == T0 + dt.timedelta(seconds=60)
    assert delivery_send(delivery_id=last.pk, now=T0 + dt.timedelta(seconds=30)) == "pending"
    # when the window has passed, it is sent
    assert delivery_send(delivery_id=last.pk, now=T0 + dt.timedelta(seconds=61)) == "sent"
    assert len(provider.received) == 21


def test_feishu_allows_five_a_second(org, provider):
    provider.default = (200, {"code": 0})
    make_robot(
        org.rep, provider="feishu", url=f"{provider.base}/open-apis/bot/v2/hook/abcdef0123456789"
    )
    _robot_route(org.rep)
    deliveries = [_only_delivery(_notify(org.rep, n)[0]) for n in range(6)]
    statuses = [delivery_send(delivery_id=d.pk, now=T0) for d in deliveries]
    assert statuses == ["sent"] * 5 + ["pending"]
    assert delivery_send(delivery_id=deliveries[-1].pk, now=T0 + dt.timedelta(seconds=2)) == "sent"


def test_provider_rate_limit_answer_waits_for_the_next_window(org, provider):
    provider.answer(200, {"errcode": 130101, "errmsg": "send too fast"})
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    delivery = _only_delivery(_notify(org.rep)[0])
    assert delivery_send(delivery_id=delivery.pk, now=T0) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= T0 + dt.timedelta(seconds=60)


def test_department_robot_gets_its_kinds_for_members_below_it(org, provider):
    # given a robot of the sales department for one kind, set up by the manager
    robot = make_robot(
        org.manager,
        department=org.sales,
        kinds=["test_due"],
        url=f"{provider.base}/robot/send?access_token=tok0123456789",
    )
    # when a rep of a sub-department (east) is notified of that kind and of another
    (due,) = _notify(org.rep)
    (escalated,) = _notify(org.rep, kind="test_escalated")
    (outside,) = _notify(org.outsider)
    # then only the chosen kind for the member goes to the team robot, naming the member
    assert list(Delivery.objects.filter(robot=robot).values_list("notification", flat=True)) == [
        due.pk
    ]
    assert not Delivery.objects.filter(notification=outside).exists()
    assert Delivery.objects.filter(notification=escalated, channel="email").exists()
    assert delivery_send(delivery_id=Delivery.objects.get(robot=robot).pk, now=T0) == "sent"
    assert str(org.rep) in provider.received[0].body["markdown"]["text"]


def test_inactive_robot_gets_nothing_and_switching_off_fails_pending_ones(org, provider):
    robot = make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    delivery = _only_delivery(_notify(org.rep)[0])
    robot.is_active = False
    robot.save()
    assert delivery_send(delivery_id=delivery.pk, now=T0) == "failed"
    assert provider.received == []
    (later,) = _notify(org.rep, 2)
    assert not Delivery.objects.filter(notification=later).exists()


# --- e-mail ------------------------------------------------------------------------------------


def test_email_in_the_recipients_language(org):
    # given one recipient reading English and one reading Chinese (the default), and a
    # message whose msgid the catalogue translates
    org.rep.language = "en"
    org.rep.save()
    message = gettext_noop("%(name)s was moved to the recycle bin.")
    (english,) = notify(
        recipients=[org.rep],
        kind="test_escalated",
        message=message,
        params={"name": "华为"},
        url="/customers/1/",
    )
    (chinese,) = notify(
        recipients=[org.other_rep], kind="test_escalated", message=message, params={"name": "华为"}
    )
    # when the e-mail jobs run
    assert delivery_send(delivery_id=_only_delivery(english).pk) == "sent"
    assert delivery_send(delivery_id=_only_delivery(chinese).pk) == "sent"
    # then each reads it in their language
    first, second = mail.outbox
    assert first.to == [org.rep.email]
    assert first.subject == "[Guanxi] Test escalated: 华为 was moved to the recycle bin."
    assert first.body.startswith("华为 was moved to the recycle bin.")
    assert "http://127.0.0.1:8000/customers/1/" in first.body
    assert "/notifications/preferences/" in first.body
    assert second.to == [org.other_rep.email]
    assert "华为 已移入回收站。" in second.subject
    assert second.body.startswith("华为 已移入回收站。")


def test_email_without_an_address_fails_without_retrying(org):
    (notification,) = _notify(org.rep, kind="test_escalated")
    delivery = _only_delivery(notification)
    type(org.rep).objects.filter(pk=org.rep.pk).update(email="")
    assert delivery_send(delivery_id=delivery.pk) == "failed"
    assert mail.outbox == []


# --- jobs --------------------------------------------------------------------------------------


def test_notify_enqueues_on_commit_and_the_job_sends(
    org, provider, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE_TASKS
    make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    _robot_route(org.rep)
    with django_capture_on_commit_callbacks(execute=True):
        (notification,) = _notify(org.rep)
        assert provider.received == []  # nothing before the commit
    assert len(provider.received) == 1
    assert _only_delivery(notification).status == "sent"


def test_retry_job_enqueues_only_due_deliveries(org, settings):
    settings.TASKS = DATABASE_TASKS
    due = _only_delivery(_notify(org.rep, 1, kind="test_escalated")[0])
    later = _only_delivery(_notify(org.rep, 2, kind="test_escalated")[0])
    done = _only_delivery(_notify(org.rep, 3, kind="test_escalated")[0])
    now = timezone.now()
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + dt.timedelta(minutes=5))
    Delivery.objects.filter(pk=done.pk).update(status="sent")
    assert deliveries_due_enqueue(now=now) == 1
    (result,) = DBTaskResult.objects.all()
    assert result.args_kwargs["args"] == [due.pk]
