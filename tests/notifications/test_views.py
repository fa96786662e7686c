"""The bell, the notifications page, preferences and robot pages."""

from __future__ import annotations

import pytest
from django.utils.translation import gettext_noop

from guanxi.notifications import crypto
from guanxi.notifications.models import Notification, NotificationPreference, RobotEndpoint
from guanxi.notifications.services import notify
from tests.conftest import login_client
from tests.notifications.conftest import DINGTALK_URL, make_robot

pytestmark = pytest.mark.django_db

MESSAGE = gettext_noop("%(name)s was moved to the recycle bin.")
SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"


def _notify(user, name="华为", url="/customers/"):
    (notification,) = notify(
        recipients=[user], kind="test_due", message=MESSAGE, params={"name": name}, url=url
    )
    return notification


def _text(response) -> str:
    return response.content.decode()


# --- bell --------------------------------------------------------------------------------------


def test_every_page_has_the_bell_as_a_plain_link_refreshed_by_htmx(org):
    body = _text(login_client(org.rep).get("/"))
    assert 'href="/notifications/"' in body
    assert 'hx-get="/notifications/bell/"' in body
    assert "load, every 60s" in body


def test_bell_shows_the_unread_count(org):
    client = login_client(org.rep, language="en")
    assert 'data-testid="notification-unread-count"' not in _text(
        client.get("/notifications/bell/")
    )
    for n in range(3):
        _notify(org.rep, f"客户{n}")
    _notify(org.other_rep)
    body = _text(client.get("/notifications/bell/"))
    assert 'data-testid="notification-unread-count">3<' in body
    assert "3 unread" in body
    assert "load," not in body  # the fragment only polls on


def test_bell_caps_the_count(org):
    Notification.objects.bulk_create(
        Notification(recipient=org.rep, kind="test_due", message=MESSAGE, params={"name": "x"})
        for _ in range(120)
    )
    assert ">99+<" in _text(login_client(org.rep).get("/notifications/bell/"))


# --- list --------------------------------------------------------------------------------------


def test_list_shows_only_my_notifications_in_my_language(org):
    _notify(org.rep, "华为")
    _notify(org.other_rep, "别人的客户")
    english = _text(login_client(org.rep, language="en").get("/notifications/"))
    assert "华为 was moved to the recycle bin." in english
    assert "别人的客户" not in english
    chinese = _text(login_client(org.rep).get("/notifications/"))
    assert "华为 已移入回收站。" in chinese


def test_unread_and_all_tabs(org):
    read = _notify(org.rep, "已读客户")
    _notify(org.rep, "未读客户")
    Notification.objects.filter(pk=read.pk).update(read_at="2025-01-01T00:00:00Z")
    client = login_client(org.rep)
    unread = _text(client.get("/notifications/"))
    assert "未读客户" in unread and "已读客户" not in unread
    everything = _text(client.get("/notifications/?show=all"))
    assert "未读客户" in everything and "已读客户" in everything


def test_mark_read_by_htmx_returns_the_row_and_refreshes_the_bell(org):
    notification = _notify(org.rep)
    response = login_client(org.rep).post(
        f"/notifications/{notification.pk}/read/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "notifications-changed"
    assert f'id="notification-{notification.pk}"' in _text(response)
    assert "notification-mark-read" not in _text(response)
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_read_without_javascript_redirects_back(org):
    notification = _notify(org.rep)
    response = login_client(org.rep).post(
        f"/notifications/{notification.pk}/read/", {"show": "all"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/notifications/?show=all"


def test_another_users_notification_is_404_and_stays_unread(org):
    theirs = _notify(org.other_rep)
    for user in (org.rep, org.admin, org.manager):
        client = login_client(user)
        assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
        assert client.post(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_marks_read_and_goes_to_the_target(org):
    notification = _notify(org.rep, url="/customers/?q=hw")
    response = login_client(org.rep).post(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/customers/?q=hw"
    notification.refresh_from_db()
    assert notification.is_read


def test_mark_all_read_changes_only_mine(org):
    _notify(org.rep, "a")
    _notify(org.rep, "b")
    theirs = _notify(org.other_rep)
    response = login_client(org.rep).post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=org.rep, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_list_pages_with_a_cursor_and_survives_a_bad_one(org):
    Notification.objects.bulk_create(
        Notification(recipient=org.rep, kind="test_due", message=MESSAGE, params={"name": f"c{n}"})
        for n in range(55)
    )
    client = login_client(org.rep)
    first = client.get("/notifications/")
    assert len(first.context["page"].items) == 50
    cursor = first.context["page"].next_cursor
    second = client.get("/notifications/", {"cursor": cursor})
    assert len(second.context["page"].items) == 5
    bad = client.get("/notifications/", {"cursor": "garbage"})
    assert bad.status_code == 200 and bad.context["cursor_error"]


def test_htmx_list_renders_the_results_fragment(org):
    _notify(org.rep)
    response = login_client(org.rep).get("/notifications/", HTTP_HX_REQUEST="true")
    body = _text(response)
    assert 'data-testid="notification-list"' in body
    assert "<html" not in body


# Pinned: session, user, role setting, the page of notifications, the unread count. The bell's
# own count is fetched by HTMX, so no page anywhere pays a query for it. A query per row shows
# up here.
LIST_PAGE_QUERIES = 5


def test_list_query_count_does_not_grow_with_the_rows(org, django_assert_num_queries):
    client = login_client(org.rep)
    client.get("/notifications/")
    _notify(org.rep)
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        assert client.get("/notifications/").status_code == 200
    for n in range(20):
        _notify(org.rep, f"c{n}")
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        response = client.get("/notifications/")
    assert len(response.context["page"].items) == 21


# --- preferences -------------------------------------------------------------------------------


def test_preferences_page_shows_defaults_and_saves_changes(org):
    client = login_client(org.rep, language="en")
    page = client.get("/notifications/preferences/")
    assert "Test escalated" in _text(page) and "(default)" in _text(page)
    # the switches as shown (every registered kind's defaults), with two changed
    form = page.context["form"]
    data = {name: "on" for name, field in form.fields.items() if field.initial}
    data["test_due-robot"] = "on"
    data.pop("test_escalated-email")
    response = client.post("/notifications/preferences/", data)
    assert response.status_code == 302
    # only the rows that differ from the defaults are stored
    stored = {
        p.kind: (p.in_app, p.email, p.robot)
        for p in NotificationPreference.objects.filter(user=org.rep)
    }
    assert stored == {"test_due": (True, False, True), "test_escalated": (True, False, False)}


# --- robots ------------------------------------------------------------------------------------


def test_robot_pages_show_the_url_masked_only(org):
    robot = make_robot(org.rep, secret=SECRET)
    client = login_client(org.rep)
    for path in ("/notifications/robots/", f"/notifications/robots/{robot.pk}/"):
        body = _text(client.get(path))
        assert "access_token=ab****yz" in body
        assert "abcdef0123456789wxyz" not in body
        assert SECRET not in body


def test_robot_create_with_a_bad_url_shows_the_error_and_saves_nothing(org):
    client = login_client(org.rep, language="en")
    response = client.post(
        "/notifications/robots/new/",
        {
            "name": "x",
            "provider": "dingtalk",
            "owner": "self",
            "is_active": "on",
            "url": "http://10.0.0.1/robot/send?access_token=abc",
        },
    )
    assert response.status_code == 400
    assert "Enter the webhook address the provider gave you" in _text(response)
    assert not RobotEndpoint.objects.exists()


def test_robot_create_then_edit_keeps_the_url_when_left_empty(org):
    client = login_client(org.rep)
    response = client.post(
        "/notifications/robots/new/",
        {
            "name": "我的钉钉",
            "provider": "dingtalk",
            "owner": "self",
            "is_active": "on",
            "url": DINGTALK_URL,
            "secret": SECRET,
        },
    )
    robot = RobotEndpoint.objects.get()
    assert response["Location"] == f"/notifications/robots/{robot.pk}/"
    assert robot.user == org.rep and robot.secret_masked == "SEC****"
    response = client.post(
        f"/notifications/robots/{robot.pk}/",
        {
            "name": "改名",
            "is_active": "on",
            "version": robot.version,
            "url": "",
            "secret": "",
            "clear_secret": "on",
        },
    )
    assert response.status_code == 302
    robot.refresh_from_db()
    assert robot.name == "改名"
    assert crypto.decrypt(robot.url_encrypted) == DINGTALK_URL
    assert robot.secret_encrypted == "" and robot.secret_masked == ""


def test_robot_edit_with_a_stale_version_is_a_conflict(org):
    robot = make_robot(org.rep)
    response = login_client(org.rep).post(
        f"/notifications/robots/{robot.pk}/",
        {
            "name": "改名",
            "is_active": "on",
            "version": robot.version - 1 if robot.version > 1 else 99,
        },
    )
    assert response.status_code == 409
    robot.refresh_from_db()
    assert robot.name == "群机器人"


def test_robot_test_message_reports_the_providers_refusal(org, provider):
    provider.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
    robot = make_robot(org.rep, url=f"{provider.base}/robot/send?access_token=tok0123456789")
    client = login_client(org.rep, language="en")
    response = client.post(f"/notifications/robots/{robot.pk}/test/", follow=True)
    assert "The robot did not accept the message" in _text(response)
    assert "310000" in _text(response)
    response = client.post(f"/notifications/robots/{robot.pk}/test/", follow=True)
    assert "The robot accepted the test message." in _text(response)
    assert len(provider.received) == 2


def test_department_members_see_the_team_robot_read_only(org):
    robot = make_robot(org.manager, department=org.sales)
    body = _text(login_client(org.rep).get(f"/notifications/robots/{robot.pk}/"))
    assert 'data-testid="robot-read-only"' in body
    assert 'data-testid="robot-form"' not in body
    assert 'data-testid="robot-test"' not in body


def test_the_manager_is_offered_the_departments_below_and_an_admin_all(org):
    manager_form = login_client(org.manager).get("/notifications/robots/new/").context["form"]
    offered = {value for value, _label in manager_form.fields["owner"].choices}
    assert offered == {"self", str(org.sales.pk), str(org.east.pk), str(org.north.pk)}
    rep_form = login_client(org.rep).get("/notifications/robots/new/").context["form"]
    assert [value for value, _label in rep_form.fields["owner"].choices] == ["self"]
