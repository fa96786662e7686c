"""Fixtures of the notification tests: registered test kinds, robots, and a real local HTTP
server standing in for the providers' webhook endpoints."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.utils.translation import gettext_lazy as _

from guanxi.notifications.kinds import _KINDS, notification_kind_register
from guanxi.notifications.models import RobotEndpoint
from guanxi.notifications.services import robot_create

DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789wxyz"
WECOM_URL = (
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
)
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd"


@pytest.fixture(autouse=True)
def _test_kinds() -> Any:
    """Kinds the tests send; registered like an app's ready() would, removed afterwards."""
    before = dict(_KINDS)
    notification_kind_register("test_due", _("Test due"))
    notification_kind_register("test_escalated", _("Test escalated"), email=True)
    yield
    _KINDS.clear()
    _KINDS.update(before)


def make_robot(
    owner: Any,
    *,
    provider: str = "dingtalk",
    url: str = DINGTALK_URL,
    secret: str = "",
    department: Any = None,
    actor: Any = None,
    kinds: list[str] | None = None,
    name: str = "群机器人",
) -> RobotEndpoint:
    return robot_create(
        actor=actor or owner,
        name=name,
        provider=provider,
        url=url,
        secret=secret,
        user=None if department is not None else owner,
        department=department,
        kinds=kinds,
    )


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeProvider:
    """A webhook endpoint on 127.0.0.1: records each POST and answers with the next queued
    (status, body), or the default answer when the queue is empty."""

    base: str
    received: list[Received] = field(default_factory=list)
    answers: deque = field(default_factory=deque)
    default: tuple[int, Any] = (200, {"errcode": 0, "errmsg": "ok"})

    def answer(self, status: int, body: Any) -> None:
        self.answers.append((status, body))


@pytest.fixture
def provider() -> Any:
    state = FakeProvider(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            parts = urllib.parse.urlsplit(self.path)
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = raw
            state.received.append(
                Received(parts.path, urllib.parse.parse_qs(parts.query), body, dict(self.headers))
            )
            status, answer = state.answers.popleft() if state.answers else state.default
            if status in (301, 302):
                self.send_response(status)
                self.send_header("Location", answer)
                self.end_headers()
                return
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    with override_settings(GUANXI_ROBOT_EXTRA_HOSTS=["127.0.0.1"], GUANXI_ROBOT_TIMEOUT_SECONDS=5):
        yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Everything notifications write, plus the audit trail."""
    from guanxi.core.models import AuditEntry
    from guanxi.notifications.models import Delivery, Notification, NotificationPreference

    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in (Notification, NotificationPreference, RobotEndpoint, Delivery, AuditEntry)
    }


def each_actor(org: Any, actors: list[str], check: Any) -> None:
    """Run ``check(actor_key, user_or_None)`` for each actor in a savepoint rolled back after,
    so that one organisation serves the whole matrix (setting it up is the slow part)."""
    from django.db import transaction

    class _Rollback(Exception):
        pass

    for key in actors:
        user = (
            None
            if key == "anonymous"
            else (org.outsider if key == "outsider" else org.by_role()[key])
        )
        try:
            with transaction.atomic():
                check(key, user)
                raise _Rollback
        except _Rollback:
            pass


@pytest.fixture(autouse=True)
def _fast_password_hashes(settings: Any) -> None:
    """Every test builds the organisation (nine users); Argon2 would spend seconds hashing their
    passwords. These tests are about notifications; the accounts tests cover the hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
