"""REST endpoints of notifications, preferences and robots."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext_noop

from guanxi.notifications import crypto
from guanxi.notifications.models import Notification, RobotEndpoint
from guanxi.notifications.services import notify
from tests.conftest import ApiClient
from tests.notifications.conftest import DINGTALK_URL, make_robot

pytestmark = pytest.mark.django_db

MESSAGE = gettext_noop("%(name)s was moved to the recycle bin.")
SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"


def _notify(user, name="华为"):
    (notification,) = notify(
        recipients=[user],
        kind="test_due",
        message=MESSAGE,
        params={"name": name},
        url="/customers/",
    )
    return notification


def test_list_paginates_my_notifications_in_the_request_language(org):
    for n in range(3):
        _notify(org.rep, f"客户{n}")
    _notify(org.other_rep, "别人的")
    client = ApiClient(org.rep, language="en")
    first = client.get("/api/v1/notifications", limit=2).json()
    assert [item["text"] for item in first["items"]] == [
        "客户2 was moved to the recycle bin.",
        "客户1 was moved to the recycle bin.",
    ]
    assert first["items"][0]["message"] == "%(name)s was moved to the recycle bin."
    assert first["items"][0]["params"] == {"name": "客户2"}
    assert first["items"][0]["kind_label"] == "Test due"
    second = client.get("/api/v1/notifications", limit=2, cursor=first["next_cursor"]).json()
    assert [item["params"]["name"] for item in second["items"]] == ["客户0"]
    assert second["next_cursor"] is None
    chinese = ApiClient(org.rep, language="zh-hans").get("/api/v1/notifications").json()
    assert chinese["items"][0]["text"] == "客户2 已移入回收站。"
    bad = client.get("/api/v1/notifications", cursor="garbage")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


def test_unread_count_mark_read_and_mark_all(org):
    first, second = _notify(org.rep, "a"), _notify(org.rep, "b")
    client = ApiClient(org.rep)
    assert client.get("/api/v1/notifications/unread-count").json() == {"count": 2}
    response = client.post(f"/api/v1/notifications/{first.pk}/read")
    assert response.status_code == 200 and response.json()["is_read"] is True
    assert client.get("/api/v1/notifications/unread-count").json() == {"count": 1}
    assert [
        i["id"] for i in client.get("/api/v1/notifications", unread="true").json()["items"]
    ] == [second.pk]
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count").json() == {"count": 0}


def test_another_users_notification_is_404(org):
    theirs = _notify(org.other_rep)
    for user in (org.rep, org.admin):
        response = ApiClient(user).post(f"/api/v1/notifications/{theirs.pk}/read")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_preferences_list_and_set(org):
    client = ApiClient(org.rep, language="en")
    rows = {row["kind"]: row for row in client.get("/api/v1/notification-preferences").json()}
    assert rows["test_escalated"] == {
        "kind": "test_escalated",
        "label": "Test escalated",
        "in_app": True,
        "email": True,
        "robot": False,
        "customised": False,
    }
    response = client.put(
        "/api/v1/notification-preferences/test_escalated",
        {"in_app": True, "email": False, "robot": True},
    )
    assert response.status_code == 200
    assert response.json()["customised"] is True and response.json()["email"] is False
    assert (
        client.put(
            "/api/v1/notification-preferences/nope", {"in_app": True, "email": False, "robot": True}
        ).status_code
        == 404
    )
    assert (
        client.put("/api/v1/notification-preferences/test_due", {"in_app": True}).status_code == 422
    )


def test_robot_crud_never_returns_the_url_or_secret(org):
    client = ApiClient(org.rep)
    response = client.post(
        "/api/v1/notification-robots",
        {
            "name": "钉钉群",
            "provider": "dingtalk",
            "url": DINGTALK_URL,
            "secret": SECRET,
        },
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["url_masked"] == "https://oapi.dingtalk.com/robot/send?access_token=ab****yz"
    assert created["signed"] is True and created["user_id"] == org.rep.pk
    robot_id = created["id"]
    for body in (
        response.content,
        client.get("/api/v1/notification-robots").content,
        client.get(f"/api/v1/notification-robots/{robot_id}").content,
    ):
        assert b"abcdef0123456789wxyz" not in body
        assert SECRET.encode() not in body
    response = client.patch(
        f"/api/v1/notification-robots/{robot_id}",
        {"version": created["version"], "name": "改名", "clear_secret": True},
    )
    assert response.status_code == 200
    assert response.json()["signed"] is False and response.json()["name"] == "改名"
    robot = RobotEndpoint.objects.get(pk=robot_id)
    assert crypto.decrypt(robot.url_encrypted) == DINGTALK_URL
    stale = client.patch(
        f"/api/v1/notification-robots/{robot_id}", {"version": created["version"], "name": "再改"}
    )
    assert stale.status_code == 409
    assert client.delete(f"/api/v1/notification-robots/{robot_id}").status_code == 204
    assert not RobotEndpoint.objects.exists()


def test_robot_create_refuses_bad_input_with_the_error_contract(org):
    client = ApiClient(org.rep, language="en")
    response = client.post(
        "/api/v1/notification-robots",
        {
            "name": "x",
            "provider": "dingtalk",
            "url": "http://127.0.0.1:6379/",
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "url" in response.json()["fields"]
    response = client.post(
        "/api/v1/notification-robots",
        {
            "name": "x",
            "provider": "wecom",
            "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef0123456789",
            "secret": "SECabc",
            "kinds": ["nope"],
        },
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"secret"}
    assert (
        client.post(
            "/api/v1/notification-robots", {"name": "x", "provider": "slack", "url": DINGTALK_URL}
        ).status_code
        == 422
    )
    assert not RobotEndpoint.objects.exists()


def test_department_robot_by_its_manager(org):
    response = ApiClient(org.manager).post(
        "/api/v1/notification-robots",
        {
            "name": "华东群",
            "provider": "dingtalk",
            "url": DINGTALK_URL,
            "department_id": org.east.pk,
            "kinds": ["test_due"],
        },
    )
    assert response.status_code == 201
    assert response.json()["department_id"] == org.east.pk
    assert response.json()["kinds"] == ["test_due"]
    # its members see it, read-only
    listed = ApiClient(org.rep).get("/api/v1/notification-robots").json()
    assert [(r["name"], r["can_write"]) for r in listed] == [("华东群", False)]
    assert ApiClient(org.other_rep).get("/api/v1/notification-robots").json() == []


def test_robot_test_endpoint(org, provider):
    provider.answer(200, {"errcode": 300001, "errmsg": "token is not exist"})
    robot = make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    client = ApiClient(org.rep, language="en")
    refused = client.post(f"/api/v1/notification-robots/{robot.pk}/test")
    assert refused.status_code == 400
    assert refused.json()["code"] == "robot_failed"
    assert "300001" in refused.json()["message"]
    assert client.post(f"/api/v1/notification-robots/{robot.pk}/test").status_code == 204


def test_robot_test_rate_limited(org, provider, settings):
    settings.GUANXI_ROBOT_RATE_PER_MINUTE = {"dingtalk": 1}
    robot = make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    client = ApiClient(org.rep)
    assert client.post(f"/api/v1/notification-robots/{robot.pk}/test").status_code == 204
    limited = client.post(f"/api/v1/notification-robots/{robot.pk}/test")
    assert limited.status_code == 400 and limited.json()["code"] == "robot_rate_limited"
    assert len(provider.received) == 1


def test_openapi_lists_the_endpoints(org):
    paths = ApiClient(org.rep).get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/notifications",
        "/api/v1/notifications/unread-count",
        "/api/v1/notification-robots/{robot_id}",
        "/api/v1/notification-preferences",
    ):
        assert path in paths
