"""The audit trail screens: /audit/ and GET /api/v1/audit. Administrators only, filterable, paged by
keyset, and nothing anywhere edits an entry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.core.models import AuditEntry
from tests.conftest import ApiClient, login_client
from tests.core.conftest import ROLES

pytestmark = pytest.mark.django_db


def _entries(
    count,
    *,
    object_type="core.sample",
    action=AuditEntry.Action.ACTION,
    same_time=False,
    note=None,
    **extra,
):
    base = timezone.now() - dt.timedelta(days=1)
    rows = [
        AuditEntry(
            occurred_at=base if same_time else base + dt.timedelta(seconds=i),
            action=action,
            object_type=object_type,
            object_id=str(i),
            object_label=f"样例{i}",
            note=note or f"note-{i}",
            **extra,
        )
        for i in range(count)
    ]
    return AuditEntry.objects.bulk_create(rows)


# --- permissions -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ROLES)
def test_html_page_is_for_administrators_only(org, role):
    # given
    _entries(1, note="secret-note")
    user = org.by_role()[role]
    # when
    response = login_client(user).get("/audit/")
    # then
    if role == "administrator":
        assert response.status_code == 200
        assert "secret-note" in response.content.decode()
    else:
        assert response.status_code == 403
        assert "secret-note" not in response.content.decode()
        assert "403" in response.content.decode()  # our 403 page, not a bare response


def test_api_anonymous_gets_401(client):
    response = client.get("/api/v1/audit")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("role", ROLES)
def test_api_is_for_administrators_only(org, role):
    _entries(1, note="secret-note")
    response = ApiClient(org.by_role()[role]).get("/api/v1/audit")
    if role == "administrator":
        assert response.status_code == 200
        assert any(item["note"] == "secret-note" for item in response.json()["items"])
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert "secret-note" not in response.content.decode()


def test_deactivated_administrator_is_refused(org):
    client = login_client(org.admin)
    org.admin.is_active = False
    org.admin.save(update_fields=["is_active"])
    response = client.get("/audit/")
    assert response.status_code in (302, 403)
    assert b"note-0" not in response.content


# --- nothing edits the trail -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_api_has_no_method_that_changes_the_trail(org, method):
    # given
    (entry,) = _entries(1)
    client = ApiClient(org.admin)
    count = AuditEntry.objects.count()
    # when
    response = client.request(method.upper(), "/api/v1/audit", json={"note": "x"})
    by_id = client.request(method.upper(), f"/api/v1/audit/{entry.pk}", json={"note": "x"})
    # then
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["code"] == "method_not_allowed"
    assert by_id.status_code in (404, 405)
    assert set(by_id.json()) >= {"message", "code", "fields"}
    assert AuditEntry.objects.count() == count
    assert AuditEntry.objects.get(pk=entry.pk).note == entry.note


def test_openapi_lists_only_a_read_operation_for_the_trail(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    audit_paths = {path: set(ops) for path, ops in paths.items() if "audit" in path}
    assert audit_paths == {"/api/v1/audit": {"get"}}


def test_html_page_refuses_posts(org):
    (entry,) = _entries(1)
    response = login_client(org.admin).post("/audit/", {"note": "x"})
    assert response.status_code == 405
    assert AuditEntry.objects.get(pk=entry.pk).note == entry.note


# --- filters ---------------------------------------------------------------------------------


def test_html_filters_by_type_id_action_and_actor(org):
    # given
    _entries(3, object_type="core.alpha")
    _entries(
        2,
        object_type="core.beta",
        action=AuditEntry.Action.EXPORT,
        actor=org.rep,
        actor_label="rep1",
    )
    client = login_client(org.admin)
    # when / then
    body = client.get("/audit/", {"object_type": "core.beta"}).content.decode()
    assert "core.beta" in body and "core.alpha #" not in body
    body = client.get("/audit/", {"object_type": "core.alpha", "object_id": "1"}).content.decode()
    assert "note-1" in body and "note-0" not in body and "note-2" not in body
    body = client.get("/audit/", {"action": "export"}).content.decode()
    assert "core.beta #" in body and "core.alpha #" not in body
    body = client.get("/audit/", {"actor": str(org.rep.pk)}).content.decode()
    assert "core.beta #" in body and "core.alpha #" not in body


def test_api_filters_by_type_id_action_and_actor(org):
    _entries(3, object_type="core.alpha")
    _entries(
        2,
        object_type="core.beta",
        action=AuditEntry.Action.EXPORT,
        actor=org.rep,
        actor_label="rep1",
    )
    client = ApiClient(org.admin)

    def ids(**params):
        return {
            (i["object_type"], i["object_id"])
            for i in client.get("/api/v1/audit", **params).json()["items"]
        }

    assert ids(object_type="core.beta") == {("core.beta", "0"), ("core.beta", "1")}
    assert ids(object_type="core.alpha", object_id="2") == {("core.alpha", "2")}
    assert ids(action="export") == {("core.beta", "0"), ("core.beta", "1")}
    assert ids(actor_id=org.rep.pk) == {("core.beta", "0"), ("core.beta", "1")}


def test_api_rejects_a_non_numeric_actor_filter_with_a_field_error(org):
    response = ApiClient(org.admin).get("/api/v1/audit", actor_id="abc")
    assert response.status_code == 422
    assert "actor_id" in response.json()["fields"]


# --- keyset pagination -----------------------------------------------------------------------


def test_html_first_page_has_fifty_rows_and_an_older_entries_link(org):
    _entries(60, object_type="core.page")
    body = login_client(org.admin).get("/audit/", {"object_type": "core.page"}).content.decode()
    assert body.count("core.page #") == 50
    assert "note-59" in body and "note-10" in body and "note-9<" not in body
    assert "Older entries" in body or "更早" in body
    assert 'hx-get="?' in body and 'href="?' in body


def test_htmx_older_entries_returns_only_the_next_rows(org):
    # given the first page and its "Older entries" link
    _entries(60, object_type="core.page")
    client = login_client(org.admin)
    first = client.get("/audit/", {"object_type": "core.page"})
    cursor = first.context["page"].next_cursor
    assert cursor
    # when the link is followed by htmx
    response = client.get(
        "/audit/", {"object_type": "core.page", "cursor": cursor}, headers={"HX-Request": "true"}
    )
    # then only the ten older rows come back, without the page around them
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "<form" not in body and "<table" not in body
    assert body.count("core.page #") == 10
    assert "note-9" in body and "note-0" in body and "note-10" not in body
    assert "audit-more" not in body  # nothing older left


def test_older_entries_without_htmx_renders_the_full_page(org):
    _entries(60, object_type="core.page")
    client = login_client(org.admin)
    cursor = client.get("/audit/", {"object_type": "core.page"}).context["page"].next_cursor
    body = client.get("/audit/", {"object_type": "core.page", "cursor": cursor}).content.decode()
    assert "<html" in body and body.count("core.page #") == 10


def test_html_tampered_cursor_shows_a_notice_and_the_first_page(org):
    _entries(3, object_type="core.page")
    response = login_client(org.admin).get("/audit/", {"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert response.context["cursor_error"]
    assert response.content.decode().count("core.page #") == 3


def test_api_walks_every_entry_once_newest_first_even_with_equal_times(org):
    # given entries that share one timestamp, so only the id breaks the tie
    created = _entries(45, object_type="core.tie", same_time=True) + _entries(
        7, object_type="core.tie"
    )
    client = ApiClient(org.admin)
    seen = []
    cursor = None
    # when
    for _ in range(20):
        params = {"object_type": "core.tie", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/audit", **params).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    # then
    expected = [e.pk for e in sorted(created, key=lambda e: (e.occurred_at, e.pk), reverse=True)]
    assert seen == expected


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "eyJ4IjoxfQ", "a" * 500, "%%%", "W3sidCI6ICJ4In0sIDFd", "☃"],
)
def test_api_tampered_cursor_is_a_400_with_its_code(org, cursor):
    _entries(3)
    response = ApiClient(org.admin).get("/api/v1/audit", cursor=cursor)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
    assert response.json()["message"]


def test_api_cursor_from_another_list_is_rejected(org):
    # given a valid cursor from the user list (same signature, different ordering)
    client = ApiClient(org.admin)
    users_cursor = client.get("/api/v1/users", limit=1).json()["next_cursor"]
    assert users_cursor
    # when it is sent to the audit trail
    response = client.get("/api/v1/audit", cursor=users_cursor)
    # then
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(("limit", "expected"), [(0, 1), (-5, 1), (3, 3), (100000, 200)])
def test_api_limit_is_clamped(org, limit, expected):
    _entries(205)
    items = ApiClient(org.admin).get("/api/v1/audit", limit=limit).json()["items"]
    assert len(items) == expected


def _queries(client, path, headers=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, headers=headers).status_code == 200
    return len(captured)


def test_html_query_count_does_not_grow_with_the_page(org):
    client = login_client(org.admin)
    _entries(2, object_type="core.count", actor=org.rep, actor_label="rep1")
    few = _queries(client, "/audit/")
    _entries(60, object_type="core.count", actor=org.manager, actor_label="manager")
    many = _queries(client, "/audit/")
    assert many == few


def test_api_query_count_does_not_grow_with_the_page(org):
    client = ApiClient(org.admin)
    client.get("/api/v1/me")  # the token's first use records when it was used; later ones do not
    _entries(2, object_type="core.count", actor=org.rep, actor_label="rep1")
    few = _queries(client.client, "/api/v1/audit", client.headers)
    _entries(60, object_type="core.count", actor=org.manager, actor_label="manager")
    many = _queries(client.client, "/api/v1/audit", client.headers)
    assert many == few


def test_audit_page_shows_translated_field_labels_and_notes(org):
    # given a deactivation, which audits a changed field and a note with values
    from guanxi.accounts.services import user_deactivate

    user_deactivate(actor=org.admin, user=org.other_rep)
    client = login_client(org.admin)

    # when an administrator reads the audit trail in Chinese and in English
    zh = client.get("/audit/", {"object_type": "accounts.user"}, HTTP_ACCEPT_LANGUAGE="zh-CN")
    en = client.get("/audit/", {"object_type": "accounts.user"}, HTTP_ACCEPT_LANGUAGE="en")

    # then the field is named by its label and the note is a sentence, not a stored key
    zh_text, en_text = zh.content.decode(), en.content.decode()
    assert "user_deactivated?" not in zh_text and "user_deactivated?" not in en_text
    assert "Deactivated; sessions ended" in en_text
    assert "已停用" in zh_text


def test_audit_api_carries_the_note_in_the_readers_language(org):
    from guanxi.accounts.services import user_deactivate

    user_deactivate(actor=org.admin, user=org.other_rep)
    api = ApiClient(org.admin)
    api.headers["Accept-Language"] = "en"
    items = api.get("/api/v1/audit", object_type="accounts.user").json()["items"]
    deactivation = next(item for item in items if item["note"].startswith("user_deactivated"))
    assert deactivation["note_display"].startswith("Deactivated; sessions ended")
